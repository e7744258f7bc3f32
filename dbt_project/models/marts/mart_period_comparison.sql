{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    **replaced_by(['grain', 'period_start'])
) }}
{#- a table built before the rates' counts or the week-ago columns compares every period again, once -#}
{%- set counts_missing = stored_columns_missing(
    ['successes', 'trials', 'week_ago_period_start']
) if is_incremental() else [] -%}
{#- a year back in periods; days: 364 days, the same weekday (as weeks: 52 weeks) -#}
{% set periods_per_year = {'day': 364, 'week': 52, 'month': 12, 'quarter': 4, 'year': 1} %}
{% set metrics = [
    'new_dialogs', 'new_dialogs_incoming', 'new_dialogs_outgoing', 'new_clients',
    'dialogs_participated', 'messages_sent', 'messages_received',
    'messages_per_dialog', 'messages_per_dialog_median',
    'response_time_mean_s', 'response_time_median_s', 'business_response_time_median_s',
    'response_time_p90_s',
    'first_response_time_median_s', 'sla_share', 'peak_concurrent_dialogs',
    'won_deals', 'conversion_rate', 'cohort_conversion_rate',
] %}

with

mart_manager_metrics as (

    select * from {{ ref('mart_manager_metrics') }}

),

periods as (

    select
        *,
        case grain
            {% for grain in periods_per_year %}
                when '{{ grain }}' then {{ shift_period('period_start', grain, -1) }}
            {% endfor %}
        end as previous_period_start,
        case grain
            {% for grain, per_year in periods_per_year.items() %}
                when '{{ grain }}' then {{ shift_period('period_start', grain, -per_year) }}
            {% endfor %}
        end as year_ago_period_start,
        -- days also against the same weekday a week earlier
        case when grain = 'day' then {{ shift_period('period_start', 'day', -7) }} end as week_ago_period_start
    from mart_manager_metrics
    where grain in (
        {% for grain in periods_per_year %}
            '{{ grain }}'{% if not loop.last %},{% endif %}
        {% endfor %}
    )

),

metric_values as (

    {{ metric_unpivot('periods', metrics, [
        'grain', 'period_start', 'manager_id', 'channel', 'previous_period_start', 'year_ago_period_start',
        'week_ago_period_start',
    ]) }}

),

{% if is_incremental() %}

    changed_values as (

    -- the values that differ from those this mart compared last time: the periods that
    -- mart_manager_metrics recomputed with a new result
        select
            coalesce(metric_values.grain, compared_before.grain) as grain,
            coalesce(metric_values.period_start, compared_before.period_start) as period_start
        from metric_values
        full outer join {{ this }} as compared_before
            on
                metric_values.grain = compared_before.grain
                and metric_values.period_start = compared_before.period_start
                and metric_values.manager_id = compared_before.manager_id
                and metric_values.channel = compared_before.channel
                and metric_values.metric = compared_before.metric
        where
            {% if counts_missing %}
                true
            {% else %}
                metric_values.metric_value is distinct from compared_before.value
                -- a rate's counts can change while it stays the same (5 of 10, 6 of 12),
                -- and its significance tests read them (kept only where the rate is defined)
                or (
                    metric_values.metric_value is not null
                    and (
                        metric_values.successes is distinct from compared_before.successes
                        or metric_values.trials is distinct from compared_before.trials
                    )
                )
            {% endif %}

    ),

    recomputed_periods as (

    -- a changed period changes its own row, the next period's, the week-ahead day's and the
    -- year-ahead one's: every later period of its grain is compared again
        select
            grain,
            min(period_start) as period_from
        from changed_values
        group by grain

    ),

{% endif %}

compared as (

    select
        this_period.grain,
        this_period.period_start,
        this_period.manager_id,
        this_period.channel,
        this_period.metric,
        this_period.is_rate,
        this_period.previous_period_start,
        this_period.year_ago_period_start,
        this_period.week_ago_period_start,
        this_period.metric_value as value,  -- noqa: RF04
        case when this_period.metric_value is not null then this_period.successes end as successes,
        case when this_period.metric_value is not null then this_period.trials end as trials,
        previous_period.metric_value as previous_value,
        year_ago_period.metric_value as year_ago_value,
        week_ago_period.metric_value as week_ago_value,
        {{ is_significant_change(
            'this_period.successes', 'this_period.trials',
            'previous_period.successes', 'previous_period.trials'
        ) }} as is_significant,
        {{ is_significant_change(
            'this_period.successes', 'this_period.trials',
            'year_ago_period.successes', 'year_ago_period.trials'
        ) }} as year_ago_is_significant,
        {{ is_significant_change(
            'this_period.successes', 'this_period.trials',
            'week_ago_period.successes', 'week_ago_period.trials'
        ) }} as week_ago_is_significant
    from metric_values as this_period
    left join metric_values as previous_period
        on
            this_period.grain = previous_period.grain
            and this_period.manager_id = previous_period.manager_id
            and this_period.channel = previous_period.channel
            and this_period.metric = previous_period.metric
            and this_period.previous_period_start = previous_period.period_start
    left join metric_values as year_ago_period
        on
            this_period.grain = year_ago_period.grain
            and this_period.manager_id = year_ago_period.manager_id
            and this_period.channel = year_ago_period.channel
            and this_period.metric = year_ago_period.metric
            and this_period.year_ago_period_start = year_ago_period.period_start
    left join metric_values as week_ago_period
        on
            this_period.grain = week_ago_period.grain
            and this_period.manager_id = week_ago_period.manager_id
            and this_period.channel = week_ago_period.channel
            and this_period.metric = week_ago_period.metric
            and this_period.week_ago_period_start = week_ago_period.period_start
    {% if is_incremental() %}
        {{ join_recomputed_periods('this_period') }}
    {% endif %}

),

final as (

    select
        grain,
        period_start,
        manager_id,
        channel,
        metric,
        is_rate,
        value,
        successes,
        trials,
        previous_period_start,
        previous_value,
        {{ round_float('value - previous_value', digits=6) }} as abs_change,
        {{ round_float(relative_change('value', 'previous_value'), digits=4) }} as pct_change,
        is_significant,
        year_ago_period_start,
        year_ago_value,
        {{ round_float('value - year_ago_value', digits=6) }} as year_ago_abs_change,
        {{ round_float(relative_change('value', 'year_ago_value'), digits=4) }} as year_ago_pct_change,
        year_ago_is_significant,
        week_ago_period_start,
        week_ago_value,
        {{ round_float('value - week_ago_value', digits=6) }} as week_ago_abs_change,
        {{ round_float(relative_change('value', 'week_ago_value'), digits=4) }} as week_ago_pct_change,
        week_ago_is_significant
    from compared
    where coalesce(value, previous_value, year_ago_value, week_ago_value) is not null

)

select * from final
