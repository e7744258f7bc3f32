{% set sla_seconds = var('response_sla_minutes') * 60 %}
{% set metric_families = ['dialog_metrics', 'message_metrics', 'wait_metrics', 'deal_metrics'] %}

with

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

dialogs as (

    select
        owner_manager_id as manager_id,
        channel,
        direction,
        is_new_client,
        started_at
    from fct_dialogs

),

messages as (

    -- sent messages count for their author, received ones for the dialog owner
    select
        case
            when fct_messages.sender_kind = 'manager' then fct_messages.manager_id
            else fct_dialogs.owner_manager_id
        end as manager_id,
        fct_messages.channel,
        fct_messages.sender_kind,
        fct_messages.dialog_id,
        fct_messages.sent_at
    from fct_messages
    inner join fct_dialogs
        on fct_messages.dialog_id = fct_dialogs.dialog_id
    where fct_messages.sender_kind in ('client', 'manager')

),

waits as (

    select
        credited_manager_id as manager_id,
        channel,
        status,
        is_first_wait,
        response_time_s,
        started_at
    from fct_waits

),

won_deals as (

    select
        manager_id,
        closed_at
    from fct_deals
    where is_won and closed_at is not null

),

dialog_metrics as (

    {% call rollup_by_period('dialogs', 'started_at') %}
        count(*) as new_dialogs,
        count(case when direction = 'incoming' then 1 end) as new_dialogs_incoming,
        count(case when direction = 'outgoing' then 1 end) as new_dialogs_outgoing,
        count(case when is_new_client then 1 end) as new_clients
    {% endcall %}

),

message_metrics as (

    {% call rollup_by_period('messages', 'sent_at') %}
        count(distinct case when sender_kind = 'manager' then dialog_id end) as dialogs_participated,
        count(case when sender_kind = 'manager' then 1 end) as messages_sent,
        count(case when sender_kind = 'client' then 1 end) as messages_received
    {% endcall %}

),

wait_metrics as (

    {% call rollup_by_period('waits', 'started_at') %}
        count(*) as waits,
        count(case when status = 'answered' then 1 end) as waits_answered,
        count(case when status = 'unanswered' then 1 end) as waits_unanswered,
        count(case when status = 'pending' then 1 end) as waits_pending,
        count(case when response_time_s <= {{ sla_seconds }} then 1 end) as waits_answered_within_sla,
        {{ round_float(percentile('response_time_s', 0.5)) }} as response_time_median_s,
        {{ round_float('avg(response_time_s)') }} as response_time_mean_s,
        {{ round_float(percentile('response_time_s', 0.9)) }} as response_time_p90_s,
        {{ round_float(percentile('case when is_first_wait then response_time_s end', 0.5)) }}
            as first_response_time_median_s
    {% endcall %}

),

deal_metrics as (

    {% call rollup_by_period('won_deals', 'closed_at', by_channel=false) %}
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
        coalesce(message_metrics.dialogs_participated, 0) as dialogs_participated,
        coalesce(message_metrics.messages_sent, 0) as messages_sent,
        coalesce(message_metrics.messages_received, 0) as messages_received,
        {{ round_float('1.0 * message_metrics.messages_sent / nullif(message_metrics.dialogs_participated, 0)') }}
            as messages_per_dialog,
        coalesce(wait_metrics.waits, 0) as waits,
        coalesce(wait_metrics.waits_answered, 0) as waits_answered,
        coalesce(wait_metrics.waits_unanswered, 0) as waits_unanswered,
        coalesce(wait_metrics.waits_pending, 0) as waits_pending,
        wait_metrics.response_time_median_s,
        wait_metrics.response_time_mean_s,
        wait_metrics.response_time_p90_s,
        wait_metrics.first_response_time_median_s,
        {{ round_float('1.0 * wait_metrics.waits_answered_within_sla / nullif(wait_metrics.waits_answered, 0)') }}
            as sla_share,
        -- deals carry no channel yet: known for the 'all' channel only
        case when metric_keys.channel = 'all' then coalesce(deal_metrics.won_deals, 0) end as won_deals
    from metric_keys
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
        {{ round_float('1.0 * won_deals / nullif(new_dialogs, 0)') }} as conversion_rate
    from combined

)

select * from final
