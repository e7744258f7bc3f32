{#- the normal range of messages per dialog per manager and period (doc block metric_robust_norm) -#}
{#- "40-90" as the settings hand it on, or [40, 90]; empty: the team norm -#}
{%- set fixed_range = var('messages_per_dialog_range', none) -%}
{%- if fixed_range is string -%}
    {%- set fixed_range = fixed_range.split('-') -%}
{%- endif -%}
{%- set has_fixed_range = fixed_range is not none and fixed_range | length == 2 -%}
{%- set k = var('messages_per_dialog_norm_k', 3) -%}
{%- set window_months = var('anomaly_team_window_months', 6) | int -%}
{%- set min_range_values = 5 -%}
{#- the MAD of log values is floored at ln(1.1): a team that all writes alike is not judged ±1% -#}
{%- set log_mad_floor = 'ln(1.1)' -%}
{%- set range_month = "cast(date_trunc('month', cast(period_start as timestamp)) as date)" -%}

with

mart_manager_metrics as (

    select * from {{ ref('mart_manager_metrics') }}

),

managers_values as (

    select
        manager_id,
        grain,
        period_start,
        messages_per_dialog
    from mart_manager_metrics
    where
        channel = 'all'
        and grain in ('week', 'month')
        and manager_id not in ('all', 'unassigned')
        and messages_per_dialog is not null

),

month_values as (

    select
        manager_id,
        period_start,
        messages_per_dialog
    from managers_values
    where grain = 'month' and messages_per_dialog > 0  -- on a log scale below

),

-- a week is judged by the range of the month it starts in
judged_periods as (

    select
        *,
        {{ range_month }} as range_month
    from managers_values

),

range_months as (

    select distinct
        manager_id,
        range_month,
        {{ shift_period('range_month', 'month', -window_months) }} as range_month_before
    from judged_periods

),

-- leave-one-out: the other managers' months in the window ending with the range month, on a
-- log scale: half as many messages per dialog is as far from the norm as twice as many
colleague_values as (

    select
        range_months.manager_id,
        range_months.range_month,
        ln(colleagues.messages_per_dialog) as log_value
    from range_months
    inner join month_values as colleagues
        on
            range_months.manager_id <> colleagues.manager_id
            and range_months.range_month >= colleagues.period_start
            and range_months.range_month_before < colleagues.period_start

),

colleague_medians as (

    select
        manager_id,
        range_month,
        count(*) as range_values,
        {{ percentile('log_value', 0.5) }} as log_median
    from colleague_values
    group by manager_id, range_month

),

-- the median absolute deviation: another manager far off moves it little, unlike a percentile
colleague_spreads as (

    select
        colleague_medians.manager_id,
        colleague_medians.range_month,
        colleague_medians.range_values,
        colleague_medians.log_median,
        {{ percentile('abs(colleague_values.log_value - colleague_medians.log_median)', 0.5) }} as log_mad
    from colleague_medians
    inner join colleague_values
        on
            colleague_medians.manager_id = colleague_values.manager_id
            and colleague_medians.range_month = colleague_values.range_month
    group by
        colleague_medians.manager_id,
        colleague_medians.range_month,
        colleague_medians.range_values,
        colleague_medians.log_median

),

team_norms as (

    select
        manager_id,
        range_month,
        log_median,
        {{ mad_as_sigma('greatest(log_mad, ' ~ log_mad_floor ~ ')') }} as log_sigma
    from colleague_spreads
    where range_values >= {{ min_range_values }}

),

final as (

    select
        judged_periods.manager_id,
        judged_periods.grain,
        judged_periods.period_start,
        judged_periods.messages_per_dialog,
        {% if has_fixed_range %}
            cast({{ fixed_range[0] }} as {{ sql_type('double precision') }}) as norm_low,
            cast({{ fixed_range[1] }} as {{ sql_type('double precision') }}) as norm_high,
            'fixed_range' as norm_rule,
        {% else %}
            {{ round_float('exp(team_norms.log_median - ' ~ k ~ ' * team_norms.log_sigma)') }} as norm_low,
            {{ round_float('exp(team_norms.log_median + ' ~ k ~ ' * team_norms.log_sigma)') }} as norm_high,
            case when team_norms.log_sigma is not null then 'team_median_mad' end as norm_rule,
        {% endif %}
        {{ round_float('exp(colleague_spreads.log_median)') }} as team_median,
        coalesce(colleague_spreads.range_values, 0) as norm_sample_size
    from judged_periods
    left join colleague_spreads
        on
            judged_periods.manager_id = colleague_spreads.manager_id
            and judged_periods.range_month = colleague_spreads.range_month
    left join team_norms
        on
            judged_periods.manager_id = team_norms.manager_id
            and judged_periods.range_month = team_norms.range_month

)

select * from final
