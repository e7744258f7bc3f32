{{ config(
    materialized='incremental',
    on_schema_change='fail',
    **replaced_by(['grain', 'period_start'])
) }}
{% set sla_seconds = var('response_sla_minutes') * 60 %}
{% set metric_families = [
    'dialog_metrics', 'owned_metrics', 'message_metrics', 'per_dialog_metrics',
    'wait_metrics', 'peak_metrics', 'deal_metrics',
] %}
{# rates computed last, from the combined counts, each with its Wilson interval #}
{% set conversion_metrics = ['conversion_rate', 'cohort_conversion_rate'] %}
{# a cohort rate without a dialog a deal could convert is unknown (null), never a false 0 #}
{% set conversion_known_when = {
    'conversion_rate': 'true',
    'cohort_conversion_rate': "cohort_conversion_status = 'ok'",
} %}
{% set ratios = ratio_metrics() %}
{# incremental runs read only the rows of the periods they recompute #}
{% set rows_from = '(select min(rows_from) from recomputed_periods)' %}

with

{% if is_incremental() %}

{#- what changed since the last run, down to one instant: read in many CTEs below -#}
{% set change_ctes %}

previous_days as (

    select
        period_start,
        manager_id,
        channel,
        won_deals,
        cohort_won_dialogs,
        linked_dialogs,
        new_dialogs + dialogs_owned + waits + peak_concurrent_dialogs > 0 as has_message_activity
    from {{ this }}
    where grain = 'day'

),

message_window as (

    -- the recompute window of fct_messages, from this mart's own latest message day, so a
    -- run that failed before reaching this mart is caught up by the next one; no message
    -- day yet: all history
    select
        coalesce(
            {{ recompute_window_start(from_reporting_time('cast(max(period_start) as timestamp)')) }},
            cast('1900-01-01' as timestamp)
        ) as window_start
    from previous_days
    -- rows of messages: won deals alone (a deal closed after the latest message) are no watermark
    where channel != 'all' and has_message_activity

),

dialogs_into_window as (

    -- a new message may extend a dialog or settle its waits; both count where it started
    select min(dialogs.started_at) as started_at
    from {{ ref('fct_dialogs') }} as dialogs
    inner join message_window
        on dialogs.ended_at >= message_window.window_start - interval '{{ var("dialog_gap_hours") }} hours'

),

deal_counts_now as (

    -- deals and links change apart from messages: a deal won, lost again or moved converts
    -- other dialogs and moves between channels, a new CRM contact links old chats; these are
    -- the deal-driven counts of every day as they are now
    select
        {{ period_start('day', 'started_at') }} as period_start,
        owner_manager_id as manager_id,
        channel,
        count(case when is_converted then 1 end) as cohort_won_dialogs,
        count(case when is_contact_linked then 1 end) as linked_dialogs,
        0 as won_deals
    from {{ ref('fct_dialogs') }}
    where is_converted or is_contact_linked
    group by {{ period_start('day', 'started_at') }}, owner_manager_id, channel

    union all

    select
        {{ period_start('day', 'closed_at') }} as period_start,
        manager_id,
        channel,
        0 as cohort_won_dialogs,
        0 as linked_dialogs,
        count(*) as won_deals
    from {{ ref('fct_deal_channels') }}
    where is_won and closed_at is not null
    group by {{ period_start('day', 'closed_at') }}, manager_id, channel

),

conversions_now as (

    select
        period_start,
        manager_id,
        channel,
        sum(cohort_won_dialogs) as cohort_won_dialogs,
        sum(linked_dialogs) as linked_dialogs,
        sum(won_deals) as won_deals
    from deal_counts_now
    group by period_start, manager_id, channel

),

conversions_before as (

    select
        period_start,
        manager_id,
        channel,
        cohort_won_dialogs,
        linked_dialogs,
        won_deals
    from previous_days
    where
        manager_id != 'all'
        and channel != 'all'
        and (cohort_won_dialogs > 0 or linked_dialogs > 0 or won_deals > 0)

),

changed_conversion_days as (

    select min(coalesce(conversions_now.period_start, conversions_before.period_start)) as period_start
    from conversions_now
    full outer join conversions_before
        on
            conversions_now.period_start = conversions_before.period_start
            and conversions_now.manager_id = conversions_before.manager_id
            and conversions_now.channel = conversions_before.channel
    where
        conversions_now.cohort_won_dialogs is distinct from conversions_before.cohort_won_dialogs
        or conversions_now.linked_dialogs is distinct from conversions_before.linked_dialogs
        or conversions_now.won_deals is distinct from conversions_before.won_deals

)

{% endset %}

{{ change_ctes }},

{% set recompute_from %}
    -- the earliest instant whose periods changed
    select min(changed_at) as recompute_from
    from (
        select window_start as changed_at from message_window
        union all
        select started_at from dialogs_into_window
        union all
        select {{ from_reporting_time('cast(period_start as timestamp)') }} from changed_conversion_days
    ) as changes
{% endset %}

{{ one_row_cte('recompute_from', recompute_from, ['recompute_from'], change_ctes) }},

recomputed_periods as (

    select
        grain,
        period_from,
        {{ from_reporting_time('cast(period_from as timestamp)') }} as rows_from
    from ({{ recomputed_periods('(select recompute_from from recompute_from)') }}) as grains

),

{% endif %}

fct_dialogs as (

    select * from {{ ref('fct_dialogs') }}
    {% if is_incremental() %}
    where ended_at >= {{ rows_from }}
    {% endif %}

),

fct_messages as (

    select * from {{ ref('fct_messages') }}
    {% if is_incremental() %}
    where sent_at >= {{ rows_from }}
    {% endif %}

),

fct_waits as (

    -- every wait open in a recomputed period, for the running count of open waits
    select * from {{ ref('fct_waits') }}
    {% if is_incremental() %}
    where open_until >= {{ rows_from }}
    {% endif %}

),

fct_deal_channels as (

    select * from {{ ref('fct_deal_channels') }}
    {% if is_incremental() %}
    where closed_at >= {{ rows_from }}
    {% endif %}

),

dialogs as (

    select
        owner_manager_id as manager_id,
        channel,
        direction,
        is_new_client,
        is_unanswered_outreach,
        is_converted,
        is_contact_linked,
        started_at
    from fct_dialogs

),

conversation_messages as (

    -- automation and system messages are no "messages" (doc block metric_sender_kind)
    select
        fct_messages.manager_id as author_manager_id,
        fct_dialogs.owner_manager_id,
        fct_messages.channel,
        fct_messages.sender_kind,
        fct_messages.dialog_id,
        fct_messages.sent_at
    from fct_messages
    inner join fct_dialogs
        on fct_messages.dialog_id = fct_dialogs.dialog_id
    where fct_messages.sender_kind in ('client', 'manager')

),

messages as (

    -- sent messages count for their author, received ones for the dialog owner
    select
        case
            when sender_kind = 'manager' then author_manager_id
            else owner_manager_id
        end as manager_id,
        channel,
        sender_kind,
        dialog_id,
        sent_at
    from conversation_messages

),

owned_messages as (

    select
        owner_manager_id as manager_id,
        channel,
        dialog_id,
        sent_at
    from conversation_messages

),

sent_messages as (

    select
        author_manager_id as manager_id,
        channel,
        dialog_id,
        sent_at
    from conversation_messages
    where sender_kind = 'manager'

),

sent_messages_by_period as (

    {{ bucket_by_period('sent_messages', 'sent_at') }}

),

messages_per_manager_dialog as (

    -- how many messages a manager sent in one dialog within one period
    select
        grain,
        period_start,
        manager_id,
        channel,
        dialog_id,
        count(*) as messages_sent
    from sent_messages_by_period
    group by grain, period_start, manager_id, channel, dialog_id

),

waits as (

    select
        credited_manager_id as manager_id,
        channel,
        status,
        is_first_wait,
        response_time_s,
        business_response_time_s,
        started_at
    from fct_waits

),

won_deals as (

    -- each won deal on the one channel it is credited to (fct_deal_channels), 'unknown' included
    select
        manager_id,
        channel,
        closed_at
    from fct_deal_channels
    where is_won and closed_at is not null

),

wait_days as (

    select
        credited_manager_id as manager_id,
        channel,
        {{ period_start('day', 'started_at') }} as first_day,
        {{ period_start('day', 'open_until') }} as last_day
    from fct_waits

),

waits_over_midnight as (

    select * from wait_days
    where last_day > first_day

),

longest_wait as (

    select max({{ days_between('first_day', 'last_day') }}) as day_count from waits_over_midnight

),

day_offsets as (

    -- 1, 2, ... up to the longest wait in days (a small table: the join below stays cheap)
    select numbered_days.day_offset
    from (
        select cast(row_number() over (order by calendar_date) as integer) as day_offset
        from {{ ref('int_business_calendar') }}
    ) as numbered_days
    inner join longest_wait
        on numbered_days.day_offset <= longest_wait.day_count

),

midnights_with_open_waits as (

    -- every local midnight a wait stays open over: its day starts with it open
    select distinct
        wait_days.manager_id,
        wait_days.channel,
        wait_days.first_day + day_offsets.day_offset as marker_day
    from waits_over_midnight as wait_days
    inner join day_offsets
        on day_offsets.day_offset <= {{ days_between('wait_days.first_day', 'wait_days.last_day') }}

),

wait_events as (

    -- a wait opens at its start and closes at open_until; one per dialog at a time, so the
    -- running count of open waits is the number of dialogs waiting for a reply. A marker
    -- (no change) at each local midnight with open waits makes the count at the day's
    -- start one of the day's moments.
    select
        credited_manager_id as manager_id,
        channel,
        started_at as event_at,
        1 as open_wait_change
    from fct_waits

    union all

    select
        credited_manager_id as manager_id,
        channel,
        open_until as event_at,
        -1 as open_wait_change
    from fct_waits

    union all

    select
        manager_id,
        channel,
        {{ from_reporting_time('cast(marker_day as timestamp)') }} as event_at,
        0 as open_wait_change
    from midnights_with_open_waits

),

scoped_wait_events as (

    {% for manager_scope, channel_scope in [
        ('manager_id', 'channel'), ('manager_id', "'all'"), ("'all'", 'channel'), ("'all'", "'all'"),
    ] %}
    select
        {{ manager_scope }},
        {{ channel_scope }},
        event_at,
        open_wait_change
    from wait_events
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

open_waits as (

    select
        manager_id,
        channel,
        event_at,
        -- a wait closing at the same instant another opens is not counted twice
        sum(open_wait_change) over (
            partition by manager_id, channel
            order by event_at, open_wait_change
            rows between unbounded preceding and current row
        ) as open_wait_count
    from scoped_wait_events

),

daily_peaks as (

    select
        manager_id,
        channel,
        min(event_at) as first_event_at,
        max(open_wait_count) as peak_concurrent_dialogs
    from open_waits
    group by manager_id, channel, {{ period_start('day', 'event_at') }}

),

daily_peaks_by_period as (

    {{ bucket_by_period('daily_peaks', 'first_event_at') }}

),

dialog_metrics as (

    {% call rollup_by_period('dialogs', 'started_at') %}
        count(*) as new_dialogs,
        count(case when direction = 'incoming' then 1 end) as new_dialogs_incoming,
        count(case when direction = 'outgoing' then 1 end) as new_dialogs_outgoing,
        count(case when is_new_client then 1 end) as new_clients,
        count(case when is_unanswered_outreach then 1 end) as unanswered_outreach,
        count(case when is_converted then 1 end) as cohort_won_dialogs,
        count(case when is_contact_linked then 1 end) as linked_dialogs
    {% endcall %}

),

owned_metrics as (

    {% call rollup_by_period('owned_messages', 'sent_at') %}
        count(distinct dialog_id) as dialogs_owned
    {% endcall %}

),

message_metrics as (

    {% call rollup_by_period('messages', 'sent_at') %}
        count(distinct case when sender_kind = 'manager' then dialog_id end) as dialogs_participated,
        count(case when sender_kind = 'manager' then 1 end) as messages_sent,
        count(case when sender_kind = 'client' then 1 end) as messages_received
    {% endcall %}

),

per_dialog_metrics as (

    {% call rollup_by_period('messages_per_manager_dialog', none) %}
    {{ percentile('messages_sent', 0.5) }} as messages_per_dialog_median
    {% endcall %}

),

wait_metrics as (

    {% call rollup_by_period('waits', 'started_at') %}
        count(*) as waits,
        count(case when status = 'answered' then 1 end) as waits_answered,
        count(case when status = 'unanswered' then 1 end) as waits_unanswered,
        count(case when status = 'pending' then 1 end) as waits_pending,
        count(case when business_response_time_s <= {{ sla_seconds }} then 1 end) as waits_answered_within_sla,
        {% for prefix in ['', 'business_'] %}
    {{ round_float('avg(' ~ prefix ~ 'response_time_s)') }} as {{ prefix }}response_time_mean_s,
            {{ round_float(percentile(prefix ~ 'response_time_s', 0.5)) }} as {{ prefix }}response_time_median_s,
            {{ round_float(percentile(prefix ~ 'response_time_s', 0.9)) }} as {{ prefix }}response_time_p90_s,
            {{ round_float(percentile('case when is_first_wait then ' ~ prefix ~ 'response_time_s end', 0.5)) }}
                as {{ prefix }}first_response_time_median_s{% if not loop.last %},{% endif %}
    {% endfor %}
    {% endcall %}

),

peak_metrics as (

    -- the busiest moment of the period: the highest of its days' peaks
    select
        grain,
        period_start,
        manager_id,
        channel,
        max(peak_concurrent_dialogs) as peak_concurrent_dialogs
    from daily_peaks_by_period
    group by grain, period_start, manager_id, channel

),

deal_metrics as (

    {% call rollup_by_period('won_deals', 'closed_at') %}
        count(*) as won_deals
    {% endcall %}

),

metric_keys as (

    {% for family in metric_families %}
    select
        grain,
        period_start,
        manager_id,
        channel
    from {{ family }}
    {% if not loop.last %}union{% endif %}
    {% endfor %}

),

{% if is_incremental() %}

recomputed_keys as (

    -- earlier periods were read for running counts only: their rows would be partial
    select metric_keys.*
    from metric_keys
    {{ join_recomputed_periods('metric_keys') }}

),

{% endif %}

combined as (

    select
        metric_keys.grain,
        metric_keys.period_start,
        metric_keys.manager_id,
        metric_keys.channel,
        coalesce(dialog_metrics.new_dialogs, 0) as new_dialogs,
        coalesce(dialog_metrics.new_dialogs_incoming, 0) as new_dialogs_incoming,
        coalesce(dialog_metrics.new_dialogs_outgoing, 0) as new_dialogs_outgoing,
        coalesce(dialog_metrics.new_clients, 0) as new_clients,
        coalesce(dialog_metrics.unanswered_outreach, 0) as unanswered_outreach,
        coalesce(owned_metrics.dialogs_owned, 0) as dialogs_owned,
        coalesce(message_metrics.dialogs_participated, 0) as dialogs_participated,
        coalesce(message_metrics.messages_sent, 0) as messages_sent,
        coalesce(message_metrics.messages_received, 0) as messages_received,
        {{ round_float(metric_formula('messages_per_dialog', 'message_metrics')) }} as messages_per_dialog,
        {{ round_float('per_dialog_metrics.messages_per_dialog_median') }} as messages_per_dialog_median,
        coalesce(wait_metrics.waits, 0) as waits,
        coalesce(wait_metrics.waits_answered, 0) as waits_answered,
        coalesce(wait_metrics.waits_unanswered, 0) as waits_unanswered,
        coalesce(wait_metrics.waits_pending, 0) as waits_pending,
        coalesce(wait_metrics.waits_answered_within_sla, 0) as waits_answered_within_sla,
        {{ round_float(metric_formula('sla_share', 'wait_metrics')) }} as sla_share,
        {% for prefix in ['', 'business_'] %}
        wait_metrics.{{ prefix }}response_time_mean_s,
        wait_metrics.{{ prefix }}response_time_median_s,
        wait_metrics.{{ prefix }}response_time_p90_s,
        wait_metrics.{{ prefix }}first_response_time_median_s,
        {% endfor %}
        coalesce(peak_metrics.peak_concurrent_dialogs, 0) as peak_concurrent_dialogs,
        coalesce(deal_metrics.won_deals, 0) as won_deals,
        coalesce(dialog_metrics.cohort_won_dialogs, 0) as cohort_won_dialogs,
        coalesce(dialog_metrics.linked_dialogs, 0) as linked_dialogs,
        {{ cohort_conversion_status('dialog_metrics.new_dialogs', 'dialog_metrics.linked_dialogs') }}
            as cohort_conversion_status
    from {{ 'recomputed_keys' if is_incremental() else 'metric_keys' }} as metric_keys
    {% for family in metric_families %}
    left join {{ family }}
        on
            metric_keys.grain = {{ family }}.grain
            and metric_keys.period_start = {{ family }}.period_start
            and metric_keys.manager_id = {{ family }}.manager_id
            and metric_keys.channel = {{ family }}.channel
    {% endfor %}

),

final as (

    select
        *,
        {% for metric in conversion_metrics %}
        {% set successes, trials = ratios[metric][:2] %}
        {% set prefix = metric | replace('_rate', '') %}
        {% set known = conversion_known_when[metric] %}
        case
            when {{ known }} then {{ round_float(metric_formula(metric), digits=4) }}
        end as {{ metric }},
        case
            when {{ known }} then {{ wilson_low(successes, trials) }}
        end as {{ prefix }}_ci_low,
        case
            when {{ known }} then {{ wilson_high(successes, trials) }}
        end as {{ prefix }}_ci_high{% if not loop.last %},{% endif %}
        {% endfor %}
    from combined

)

select * from final
