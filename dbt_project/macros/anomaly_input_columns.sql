{#
    The mart_manager_metrics columns mart_anomalies' rules read (anomaly_norm_columns: the
    mart_message_norms ones). Alone in its file: sqlfluff's
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
