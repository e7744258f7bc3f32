{#
    What mart_anomalies judges from: the channel-'all' week and month rows of
    mart_manager_metrics ('unassigned' is never judged), the columns its rules read, and the
    first and last day with data (which periods are complete). mart_anomalies keeps a copy
    of them (kept_inputs, written by its post-hook) so its next incremental run finds
    the periods whose inputs changed: a downstream model cannot see mart_manager_metrics' old
    values, only what it kept itself (macros kept_inputs, keep_inputs).
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
