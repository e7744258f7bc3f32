{#
    What mart_anomalies judges from: the channel-'all' week and month rows of
    mart_manager_metrics ('unassigned' is never judged), the columns its rules read, and the
    first and last day with data (which periods are complete). mart_anomalies keeps a copy
    of them (anomaly_inputs_kept, written by its post-hook) so its next incremental run finds
    the periods whose inputs changed: a downstream model cannot see mart_manager_metrics' old
    values, only what it kept itself.
#}
{% macro anomaly_inputs(metrics_relation) -%}
    select
        manager_id,
        grain,
        period_start,
        {% for column in anomaly_input_columns() -%}
            {{ column }},
        {% endfor -%}
        first_data_day,
        last_data_day
    from (
        select
            *,
            min(case when grain = 'day' then period_start end) over () as first_data_day,
            max(case when grain = 'day' then period_start end) over () as last_data_day
        from {{ metrics_relation }}
    ) as bounded
    where
        channel = 'all'
        and grain in ('week', 'month')
        and manager_id <> 'unassigned'
{%- endmacro %}


{# Where mart_anomalies keeps its inputs: a table next to it. #}
{% macro anomaly_inputs_relation() -%}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__inputs'})) }}
{%- endmacro %}


{# The inputs mart_anomalies judged from last time, or none (never kept: judge every period). #}
{% macro anomaly_inputs_kept() -%}
    {%- set kept = anomaly_inputs_relation() -%}
    {{ return(adapter.get_relation(database=kept.database, schema=kept.schema, identifier=kept.identifier)) }}
{%- endmacro %}


{#
    Post-hook of mart_anomalies: keep the inputs this run judged from, for the next run. In
    the model's transaction, so a failed run keeps the old ones and the next run redoes it.
#}
{% macro keep_anomaly_inputs() -%}
    drop table if exists {{ anomaly_inputs_relation() }};
    create table {{ anomaly_inputs_relation() }} as {{ anomaly_inputs(ref('mart_manager_metrics')) }}
{%- endmacro %}
