{#
    The mart_manager_metrics columns mart_anomalies' rules read (anomaly_norm_columns: the
    mart_message_norms ones; anomaly_test_columns: the two-period rule's, from
    int_response_time_tests, and the manager's first day with data). Alone in its file: sqlfluff's
    jinja templater honours dbt's `return` only in a macro called from another file.
#}
{% macro anomaly_input_columns() -%}
    {{ return([
        'new_dialogs', 'messages_received', 'messages_per_dialog', 'response_time_median_s',
        'waits_answered', 'won_deals', 'conversion_rate',
    ]) }}
{%- endmacro %}


{% macro anomaly_norm_columns() -%}
    {{ return(['norm_low', 'norm_high', 'norm_rule']) }}
{%- endmacro %}


{% macro anomaly_test_columns() -%}
    {{ return(['manager_first_day', 'test_previous_period_start', 'test_previous_waits_answered', 'u_test_z']) }}
{%- endmacro %}
