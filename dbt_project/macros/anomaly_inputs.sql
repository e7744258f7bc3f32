{#
    What mart_anomalies judges from: the channel-'all' day, week and month rows of
    mart_manager_metrics ('unassigned' is never judged), the columns its rules read, each
    period's normal range of messages per dialog (mart_message_norms: a changed setting changes
    them), each period's U test against the previous one (int_response_time_tests), the
    manager's first day with data (whether their first periods are whole), and the first and
    last day with data (which periods are complete). mart_anomalies keeps a copy
    of them (anomaly_inputs_kept, written by its post-hook) so its next incremental run finds
    the periods whose inputs changed: a downstream model cannot see mart_manager_metrics' old
    values, only what it kept itself.
#}
{% macro anomaly_inputs(metrics_relation, norms_relation, tests_relation) -%}
    select
        bounded.manager_id,
        bounded.grain,
        bounded.period_start,
        {% for column in anomaly_input_columns() -%}
            bounded.{{ column }},
        {% endfor -%}
        {% for column in anomaly_norm_columns() -%}
            norms.{{ column }},
        {% endfor -%}
        bounded.manager_first_day,
        tests.previous_period_start as test_previous_period_start,
        tests.previous_waits_answered as test_previous_waits_answered,
        tests.u_test_z,
        bounded.first_data_day,
        bounded.last_data_day
    from (
        select
            *,
            min(case when grain = 'day' then period_start end) over () as first_data_day,
            max(case when grain = 'day' then period_start end) over () as last_data_day,
            min(case when grain = 'day' and channel = 'all' then period_start end)
                over (partition by manager_id) as manager_first_day
        from {{ metrics_relation }}
    ) as bounded
    left join {{ norms_relation }} as norms
        on
            bounded.manager_id = norms.manager_id
            and bounded.grain = norms.grain
            and bounded.period_start = norms.period_start
    left join {{ tests_relation }} as tests
        on
            bounded.manager_id = tests.manager_id
            and bounded.grain = tests.grain
            and bounded.period_start = tests.period_start
    where
        bounded.channel = 'all'
        and bounded.grain in ('day', 'week', 'month')
        and bounded.manager_id <> 'unassigned'
{%- endmacro %}


{# Where mart_anomalies keeps its inputs: a table next to it. #}
{% macro anomaly_inputs_relation() -%}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__inputs'})) }}
{%- endmacro %}


{#
    The inputs mart_anomalies judged from last time, or none: never kept, or kept by an older
    version without every column compared now (judge every period).
#}
{% macro anomaly_inputs_kept() -%}
    {%- set kept = anomaly_inputs_relation() -%}
    {%- set relation = adapter.get_relation(database=kept.database, schema=kept.schema, identifier=kept.identifier) -%}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set compared = anomaly_input_columns() + anomaly_norm_columns() + anomaly_test_columns() -%}
    {{ return(relation if compared | reject('in', stored) | list | length == 0 else none) }}
{%- endmacro %}


{#
    Post-hook of mart_anomalies: keep the inputs this run judged from, for the next run. In
    the model's transaction, so a failed run keeps the old ones and the next run redoes it.
#}
{% macro keep_anomaly_inputs() -%}
    drop table if exists {{ anomaly_inputs_relation() }};
    create table {{ anomaly_inputs_relation() }} as
    {{ anomaly_inputs(ref('mart_manager_metrics'), ref('mart_message_norms'), ref('int_response_time_tests')) }}
{%- endmacro %}
