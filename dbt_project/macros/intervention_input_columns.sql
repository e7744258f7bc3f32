{#
    mart_interventions' window length, and the mart_manager_metrics day columns that tell it
    a day of a window changed. Alone in their file: sqlfluff's jinja templater honours dbt's
    `return` only in a macro called from another file.
#}
{% macro intervention_window_days() -%}
    {{ return(var('intervention_window_days', 28) | int) }}
{%- endmacro %}


{% macro intervention_input_columns() -%}
    {{ return([
        'new_dialogs', 'won_deals', 'dialogs_participated', 'messages_sent',
        'waits_answered', 'waits_answered_within_sla',
        'response_time_mean_s', 'response_time_median_s', 'response_time_p90_s',
        'business_response_time_mean_s', 'business_response_time_median_s', 'business_response_time_p90_s',
    ]) }}
{%- endmacro %}
