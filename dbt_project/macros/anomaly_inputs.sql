{#
    What mart_anomalies judges from: the channel-'all' day, week and month rows of
    mart_manager_metrics ('unassigned' is never judged), the columns its rules read, each
    period's normal range of messages per dialog (mart_message_norms: a changed setting changes
    them), each period's U test against the previous one (int_response_time_tests), the
    manager's first day with data (whether their first periods are whole), and the first and
    last day with data (which periods are complete). mart_anomalies keeps a copy of them
    (macros kept_inputs, keep_inputs: written by its post-hook) so its next incremental run
    finds the periods whose inputs changed.
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
