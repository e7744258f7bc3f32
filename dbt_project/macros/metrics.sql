{#
    Each metric formula once (the doc blocks in models/docs/*.md define them); the ratios and
    their counts are listed by ratio_metrics() (macros/metric_definitions.sql):

    - rate(numerator, denominator): the formula of every ratio, null when the denominator is 0;
    - relative_change(value, base): the % change (as a fraction) of every comparison;
    - metric_formula(metric, relation): a metric as an expression over its counts;
    - metric_unpivot(...): one row per metric of a wide relation, with is_rate, the value
      and, for a rate, its successes and trials.
#}

{# numerator / denominator as double precision; null when the denominator is 0 or null. #}
{% macro rate(numerator, denominator) -%}
    cast({{ numerator }} as {{ sql_type('double precision') }}) / nullif({{ denominator }}, 0)
{%- endmacro %}


{# (value - base) / base: null when the base is 0 or null, so no "+∞ %". #}
{% macro relative_change(value, base) -%}
    ({{ value }} - {{ base }}) / nullif({{ base }}, 0)
{%- endmacro %}


{#
    A metric as a SQL expression: the rate of its counts for a ratio metric, else its column.
    `relation` qualifies the columns (e.g. 'wait_metrics' gives wait_metrics.waits_answered).
#}
{% macro metric_formula(metric, relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- set ratios = ratio_metrics() -%}
    {%- if metric in ratios -%}
        {{ rate(prefix ~ ratios[metric][0], prefix ~ ratios[metric][1]) }}
    {%- else -%}
        {{ prefix ~ metric }}
    {%- endif -%}
{%- endmacro %}


{#
    One row per metric and row of `relation`: the key columns, then metric (its name),
    is_rate, metric_value (double precision) and, for a rate, its successes and trials
    (bigint; null for other metrics), for is_significant_change between two such rows.
    from_counts=false reads each metric's own column; true computes ratio metrics from
    their counts with metric_formula (the relation then needs the counts, not the ratios).
    The relation is read once, crossed with the list of metrics: a union of a select per
    metric read it once per metric, and Spark planned and scanned each of them.
#}
{% macro metric_unpivot(relation, metrics, key_columns, from_counts=false) -%}
    {%- set ratios = ratio_metrics() -%}
    {%- set rates = [] -%}
    {%- for metric in metrics if metric in ratios and ratios[metric][2] -%}
        {%- do rates.append(metric) -%}
    {%- endfor %}
    select
        {% for key_column in key_columns -%}
            {{ relation }}.{{ key_column }},
        {% endfor -%}
        unpivoted.metric,
        unpivoted.is_rate,
        cast(case unpivoted.metric
            {%- for metric in metrics %}
                when '{{ metric }}' then {{ metric_formula(metric, relation) if from_counts else relation ~ '.' ~ metric }}
            {%- endfor %}
        end as {{ sql_type('double precision') }}) as metric_value,
        {% for count_index, count_name in [(0, 'successes'), (1, 'trials')] -%}
            {%- if rates -%}
                cast(case unpivoted.metric
                    {%- for metric in rates %}
                        when '{{ metric }}' then {{ relation }}.{{ ratios[metric][count_index] }}
                    {%- endfor %}
                end as bigint)
            {%- else -%}
                cast(null as bigint)
            {%- endif %} as {{ count_name }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ relation }}
    cross join (
        values
        {% for metric in metrics -%}
            ('{{ metric }}', {{ 'true' if metric in rates else 'false' }}){{ ',' if not loop.last }}
        {% endfor %}
    ) as unpivoted (metric, is_rate)
{%- endmacro %}


{#
    The channel a deal is credited to: its linked dialog's, else its lead source's, else
    'unknown' (doc block metric_deal_channel). Every deal has exactly one, so the channels'
    won deals add up to the team's.
#}
{% macro deal_channel(dialog_channel, lead_source_channel) -%}
    coalesce({{ dialog_channel }}, {{ lead_source_channel }}, 'unknown')
{%- endmacro %}


{#
    Why a cohort conversion rate is null, or 'ok' (doc block metric_conversion_cohort): no new
    dialog, or none of them links to a CRM contact (the channel's chats carry no phone or
    username a contact has), so no deal could convert them and 0 would be false.
#}
{% macro cohort_conversion_status(new_dialogs, linked_dialogs) -%}
    case
        when coalesce({{ new_dialogs }}, 0) = 0 then 'no_dialogs'
        when coalesce({{ linked_dialogs }}, 0) = 0 then 'no_contact_link'
        else 'ok'
    end
{%- endmacro %}
