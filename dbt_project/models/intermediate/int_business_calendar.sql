{%- set hours = var('working_hours') -%}

with

holidays as (

    select * from {{ ref('stg_seeds__holidays') }}

),

days as (

    select spine.calendar_date
    from {{ calendar_days(var("calendar_start"), var("calendar_end")) }} as spine

),

classified as (

    select
        days.calendar_date,
        coalesce(
            holidays.is_working_day,
            {{ iso_weekday('days.calendar_date') }} in ({{ hours['days'] | join(', ') }})
        ) as is_working_day,
        -- local wall-clock hours to UTC instants day by day: a DST change moves them
        {{ from_reporting_time(
            "cast(cast(days.calendar_date as " ~ sql_type('text') ~ ") || ' " ~ hours['start'] ~ "' as timestamp)"
        ) }} as work_start_at,
        {{ from_reporting_time(
            "cast(cast(days.calendar_date as " ~ sql_type('text') ~ ") || ' " ~ hours['end'] ~ "' as timestamp)"
        ) }} as work_end_at
    from days
    left join holidays
        on days.calendar_date = holidays.calendar_date

),

working_seconds as (

    select
        *,
        case
            when is_working_day then {{ seconds_between('work_start_at', 'work_end_at') }}
            else 0
        end as working_seconds
    from classified

)

select
    calendar_date,
    is_working_day,
    work_start_at,
    work_end_at,
    working_seconds,
    -- business seconds from calendar_start to this day's start: the difference of two
    -- instants' positions is the business time between them, with equality joins only
    coalesce(sum(working_seconds) over (
        order by calendar_date
        rows between unbounded preceding and 1 preceding
    ), 0) as business_seconds_before
from working_seconds
