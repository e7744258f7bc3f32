{{ config(
    materialized='incremental',
    on_schema_change='fail',
    **replaced_by(['grain', 'period_start'])
) }}
{#- the grains mart_anomalies judges; days only on working days, against the previous one -#}
{%- set grains = ['day', 'week', 'month'] -%}

with

{% if is_incremental() %}

    wait_window as (

    -- the recompute window of fct_waits, from this model's own latest day; none yet: all
        select
            coalesce(
                {{ recompute_window_start(from_reporting_time('cast(max(period_start) as timestamp)')) }},
                cast('1900-01-01' as timestamp)
            ) as window_start
        from {{ this }}
        where grain = 'day'

    ),

    recompute_from as (

    -- a new message may answer or extend a wait that started before the window: such waits
    -- count where they started
        select min(changed_at) as recompute_from
        from (
            select window_start as changed_at from wait_window

            union all

            select fct_waits.started_at as changed_at
            from {{ ref('fct_waits') }} as fct_waits
            inner join wait_window
                on fct_waits.open_until >= wait_window.window_start - interval '{{ var("dialog_gap_hours") }} hours'
        ) as changes

    ),

    recomputed_periods as (

        select
            grain,
            period_from
        from ({{ recomputed_periods('(select recompute_from from recompute_from)') }}) as grains
        where grain in ('{{ grains | join("', '") }}')

    ),

    read_from as (

    -- the waits of the recomputed periods and of the periods they are tested against
        select min(baseline_from) as baseline_from
        from (
            select
                case
                    when grain = 'week' then {{ shift_period('period_from', 'week', -1) }}
                    when grain = 'month' then {{ shift_period('period_from', 'month', -1) }}
                    else (
                        select max(calendar.calendar_date) as last_working_day
                        from {{ ref('int_business_calendar') }} as calendar
                        where calendar.is_working_day and calendar.calendar_date < recomputed_periods.period_from
                    )
                end as baseline_from
            from recomputed_periods
        ) as baselines

    ),

{% endif %}

fct_waits as (

    select * from {{ ref('fct_waits') }}
    {% if is_incremental() %}
        where started_at >= {{ from_reporting_time('cast((select baseline_from from read_from) as timestamp)') }}
    {% endif %}

),

int_business_calendar as (

    select * from {{ ref('int_business_calendar') }}

),

-- the waits the median response time is taken of: answered ones, credited to the replier
answered_waits as (

    select
        credited_manager_id as manager_id,
        response_time_s,
        started_at
    from fct_waits
    where response_time_s is not null

),

working_days as (

    select
        calendar_date,
        lead(calendar_date) over (order by calendar_date) as next_working_day
    from int_business_calendar
    where is_working_day

),

bucketed as (

    {{ bucket_by_period('answered_waits', 'started_at', grains) }}

),

-- each period's waits twice: as the sample judged in their period, and as the baseline of the
-- next one (the next working day for days; other days are neither judged nor a baseline)
samples as (

    select
        bucketed.grain,
        bucketed.manager_id,
        bucketed.period_start,
        cast(null as date) as previous_period_start,
        1 as is_judged,
        bucketed.response_time_s
    from bucketed
    where
        bucketed.grain <> 'day'
        or bucketed.period_start in (select working_days.calendar_date from working_days)

    union all

    select
        bucketed.grain,
        bucketed.manager_id,
        case
            when bucketed.grain = 'week' then {{ shift_period('bucketed.period_start', 'week', 1) }}
            else {{ shift_period('bucketed.period_start', 'month', 1) }}
        end as period_start,
        bucketed.period_start as previous_period_start,
        0 as is_judged,
        bucketed.response_time_s
    from bucketed
    where bucketed.grain in ('week', 'month')

    union all

    select
        bucketed.grain,
        bucketed.manager_id,
        working_days.next_working_day as period_start,
        bucketed.period_start as previous_period_start,
        0 as is_judged,
        bucketed.response_time_s
    from bucketed
    inner join working_days
        on bucketed.period_start = working_days.calendar_date
    where bucketed.grain = 'day' and working_days.next_working_day is not null

),

{% if is_incremental() %}

    recomputed_samples as (

        select samples.*
        from samples
        {{ join_recomputed_periods('samples') }}

    ),

{% endif %}

-- average ranks: the lowest rank of a tied value plus half the other ties
ranked as (

    select
        *,
        rank() over (partition by grain, manager_id, period_start order by response_time_s)
        + (count(*) over (partition by grain, manager_id, period_start, response_time_s) - 1) / 2.0
            as average_rank,
        count(*) over (partition by grain, manager_id, period_start, response_time_s) as tied
    from {{ 'recomputed_samples' if is_incremental() else 'samples' }}

),

rank_sums as (

    select
        manager_id,
        grain,
        period_start,
        max(previous_period_start) as previous_period_start,
        sum(is_judged) as waits_answered,
        sum(1 - is_judged) as previous_waits_answered,
        sum(case when is_judged = 1 then average_rank end) as rank_sum,
        -- a group of t ties adds t³ - t: each of its rows adds t² - 1
        sum(tied * tied - 1) as tie_term
    from ranked
    group by manager_id, grain, period_start

),

final as (

    select
        manager_id,
        grain,
        period_start,
        previous_period_start,
        waits_answered,
        previous_waits_answered,
        cast(
            rank_sum - waits_answered * (waits_answered + 1) / 2.0 as {{ sql_type('double precision') }}
        ) as u_statistic,
        {{ round_float(mann_whitney_z('rank_sum', 'waits_answered', 'previous_waits_answered', 'tie_term'), digits=4) }}
            as u_test_z
    from rank_sums
    where waits_answered > 0 and previous_waits_answered > 0

)

select * from final
