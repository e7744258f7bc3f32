
{#
    Aggregates the rows of `relation` (which must have manager_id and, when by_channel,
    channel) once per reporting grain, bucketed by `timestamp_column`, for every
    manager x channel, every manager ('all' channels), every channel ('all' managers)
    and the whole team. The caller block holds the aggregate expressions, so medians and
    percentiles are computed from base rows at every grain, never from finer grains.
    A relation already bucketed (with grain and period_start columns, e.g. by
    bucket_by_period) is passed with timestamp_column=none.

        {% call rollup_by_period('waits', 'started_at') %}
            count(*) as waits
        {% endcall %}
#}
{% macro rollup_by_period(relation, timestamp_column, by_channel=true) %}
    select
        bucketed.grain,
        bucketed.period_start,
        case when grouping(bucketed.manager_id) = 1 then 'all' else bucketed.manager_id end as manager_id,
        {% if by_channel %}
            case when grouping(bucketed.channel) = 1 then 'all' else bucketed.channel end as channel,
        {% else %}
            'all' as channel,
        {% endif %}
        {{ caller() }}
    from (
        {% if timestamp_column is none %}
            select * from {{ relation }}
        {% else %}
            {{ bucket_by_period(relation, timestamp_column) }}
        {% endif %}
    ) as bucketed
    group by grouping sets (
        {% if by_channel %}
            (bucketed.grain, bucketed.period_start, bucketed.manager_id, bucketed.channel),
            (bucketed.grain, bucketed.period_start, bucketed.channel),
        {% endif %}
        (bucketed.grain, bucketed.period_start, bucketed.manager_id),
        (bucketed.grain, bucketed.period_start)
    )
{% endmacro %}


{#
    Every row of `relation` once per grain of `grains` (the reporting grains unless given;
    ISO weeks start on Monday), with grain and period_start columns. The relation is read
    once, crossed with the grains: a union of a select per grain read it, and the CTEs it is
    built of, once per grain.
#}
{% macro bucket_by_period(relation, timestamp_column, grains=none) %}
    {%- set bucket_grains = grains or reporting_grains() %}
    select
        grains.grain,
        case grains.grain
            {%- for grain in bucket_grains %}
                when '{{ grain }}' then {{ period_start(grain, relation ~ '.' ~ timestamp_column) }}
            {%- endfor %}
        end as period_start,
        {{ relation }}.*
    from {{ relation }}
    cross join (
        values
        {% for grain in bucket_grains -%}
            ('{{ grain }}'){{ ',' if not loop.last }}
        {% endfor %}
    ) as grains (grain)
{% endmacro %}
