{#
    The ratio metrics, each once, as metric: (numerator, denominator, is_rate). A rate is a
    proportion (successes, trials): it gets a Wilson interval and the two-proportion
    significance test; the other ratios (messages per dialog) do not. The doc blocks in
    models/docs/*.md define each metric; macros/metrics.sql computes and unpivots them.

    Alone in its file: sqlfluff's jinja templater honours dbt's `return` only in a macro
    called from another file.
#}
{% macro ratio_metrics() -%}
    {{ return({
        'messages_per_dialog': ('messages_sent', 'dialogs_participated', false),
        'conversion_rate': ('won_deals', 'new_dialogs', true),
        'cohort_conversion_rate': ('cohort_won_dialogs', 'new_dialogs', true),
        'sla_share': ('waits_answered_within_sla', 'waits_answered', true),
    }) }}
{%- endmacro %}
