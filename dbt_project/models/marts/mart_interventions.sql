{% set window_days = var('intervention_window_days', 28) | int %}
{% set sla_seconds = var('response_sla_minutes') * 60 %}
{% set metrics = [
    'new_dialogs', 'won_deals', 'conversion_rate', 'messages_per_dialog',
    'response_time_median_s', 'business_response_time_median_s', 'sla_share',
] %}

with

interventions as (

    select * from {{ ref('stg_seeds__interventions') }}

),

fct_dialogs as (

    select * from {{ ref('fct_dialogs') }}

),

fct_messages as (

    select * from {{ ref('fct_messages') }}

),

fct_waits as (

    select * from {{ ref('fct_waits') }}

),

fct_deals as (

    select * from {{ ref('fct_deals') }}

),

data_span as (

    select
        min({{ period_start('day', 'sent_at') }}) as first_data_date,
        max({{ period_start('day', 'sent_at') }}) as last_data_date
    from fct_messages

),

-- local days: before = [event_date - N, event_date), after = [event_date, event_date + N)
windows as (

    select
        intervention_id,
        manager_id,
        'before' as window_name,
        event_date - {{ window_days }} as window_start,
        event_date as window_end
    from interventions

    union all

    select
        intervention_id,
        manager_id,
        'after' as window_name,
        event_date as window_start,
        event_date + {{ window_days }} as window_end
    from interventions

),

-- the fact rows a window can hold, each on its local day and credited manager
activity as (

    select
        'dialog' as activity_kind,
        owner_manager_id as manager_id,
        {{ period_start('day', 'started_at') }} as activity_date,
        cast(null as text) as dialog_id,
        cast(null as double precision) as response_time_s,
        cast(null as double precision) as business_response_time_s
    from fct_dialogs

    union all

    select
        'manager_message' as activity_kind,
        manager_id,
        {{ period_start('day', 'sent_at') }} as activity_date,
        dialog_id,
        cast(null as double precision) as response_time_s,
        cast(null as double precision) as business_response_time_s
    from fct_messages
    where sender_kind = 'manager'

    union all

    select
        'answered_wait' as activity_kind,
        credited_manager_id as manager_id,
        {{ period_start('day', 'started_at') }} as activity_date,
        cast(null as text) as dialog_id,
        cast(response_time_s as double precision) as response_time_s,
        cast(business_response_time_s as double precision) as business_response_time_s
    from fct_waits
    where status = 'answered'

    union all

    select
        'won_deal' as activity_kind,
        manager_id,
        {{ period_start('day', 'closed_at') }} as activity_date,
        cast(null as text) as dialog_id,
        cast(null as double precision) as response_time_s,
        cast(null as double precision) as business_response_time_s
    from fct_deals
    where is_won and closed_at is not null

),

window_totals as (

    select
        windows.intervention_id,
        windows.window_name,
        count(case when activity.activity_kind = 'dialog' then 1 end) as new_dialogs,
        count(case when activity.activity_kind = 'won_deal' then 1 end) as won_deals,
        count(case when activity.activity_kind = 'manager_message' then 1 end) as messages_sent,
        count(distinct case when activity.activity_kind = 'manager_message' then activity.dialog_id end)
            as dialogs_participated,
        count(case when activity.activity_kind = 'answered_wait' then 1 end) as waits_answered,
        count(case when activity.business_response_time_s <= {{ sla_seconds }} then 1 end)
            as waits_answered_within_sla,
        {{ percentile('activity.response_time_s', 0.5) }} as response_time_median_s,
        {{ percentile('activity.business_response_time_s', 0.5) }} as business_response_time_median_s
    from windows
    left join activity
        on
            (windows.manager_id = 'all' or windows.manager_id = activity.manager_id)
            and windows.window_start <= activity.activity_date
            and windows.window_end > activity.activity_date
    group by windows.intervention_id, windows.window_name

),

window_metrics as (

    -- the windows' counts, not rounded rates: the ratios are computed from them
    {{ metric_unpivot('window_totals', metrics, ['intervention_id', 'window_name'], from_counts=true) }}

),

compared as (

    select
        interventions.intervention_id,
        interventions.event_date,
        interventions.manager_id,
        interventions.kind,
        interventions.title,
        before_window.metric,
        before_window.is_rate,
        before_window.metric_value as before_value,
        after_window.metric_value as after_value,
        before_window.successes as before_successes,
        before_window.trials as before_trials,
        after_window.successes as after_successes,
        after_window.trials as after_trials,
        {{ is_significant_change(
            'before_window.successes', 'before_window.trials',
            'after_window.successes', 'after_window.trials'
        ) }} as is_significant,
        coalesce(data_span.first_data_date <= interventions.event_date - {{ window_days }}, false)
            as is_before_window_complete,
        coalesce(data_span.last_data_date >= interventions.event_date + {{ window_days - 1 }}, false)
            as is_after_window_complete
    from interventions
    inner join window_metrics as before_window
        on
            interventions.intervention_id = before_window.intervention_id
            and before_window.window_name = 'before'
    inner join window_metrics as after_window
        on
            before_window.intervention_id = after_window.intervention_id
            and before_window.metric = after_window.metric
            and after_window.window_name = 'after'
    cross join data_span

),

final as (

    select
        intervention_id,
        event_date,
        manager_id,
        kind,
        title,
        {{ window_days }} as window_days,
        event_date - {{ window_days }} as before_window_start,
        event_date + {{ window_days - 1 }} as after_window_end,
        metric,
        is_rate,
        {{ round_float('before_value') }} as before_value,
        {{ round_float('after_value') }} as after_value,
        {{ round_float('after_value - before_value') }} as abs_change,
        {{ round_float(relative_change('after_value', 'before_value'), digits=4) }} as pct_change,
        before_successes,
        before_trials,
        after_successes,
        after_trials,
        is_significant,
        is_before_window_complete,
        is_after_window_complete
    from compared

)

select * from final
