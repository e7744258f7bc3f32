{#
    Aggregates the rows of `relation` (which must have manager_id and, when by_channel,
    channel) once per reporting grain, bucketed by `timestamp_column`, for every
    manager x channel, every manager ('all' channels), every channel ('all' managers)
    and the whole team. The caller block holds the aggregate expressions, so medians and
    percentiles are computed from base rows at every grain, never from finer grains.

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
        {% for grain in ['day', 'week', 'month'] %}
            select
                '{{ grain }}' as grain,
                {{ period_start(grain, relation ~ '.' ~ timestamp_column) }} as period_start,
                {{ relation }}.*
            from {{ relation }}
            {% if not loop.last %}union all{% endif %}
        {% endfor %}
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
