{#
    What mart_interventions compares between runs: the day rows of mart_manager_metrics
    (channel 'all') of each event's manager, or the team's ('all') for a team-wide event, on
    the days of its before and after windows. Every fact a window counts falls on one of those
    days and changes that day's counts, medians or means. mart_interventions keeps a copy
    (kept_inputs, written by its post-hook): its next incremental run measures again the
    events with a window holding a day whose row differs, appeared or disappeared.
#}
{% macro intervention_inputs(metrics_relation, interventions_relation) -%}
    {%- set window_days = intervention_window_days() -%}
    select
        days.manager_id,
        days.period_start,
        {% for column in intervention_input_columns() -%}
            days.{{ column }}{% if not loop.last %},{% endif %}
        {% endfor -%}
    from {{ metrics_relation }} as days
    where
        days.grain = 'day'
        and days.channel = 'all'
        and exists (
            select interventions.intervention_id
            from {{ interventions_relation }} as interventions
            where
                interventions.manager_id = days.manager_id
                and days.period_start >= interventions.event_date - {{ window_days }}
                and days.period_start < interventions.event_date + {{ window_days }}
        )
{%- endmacro %}
