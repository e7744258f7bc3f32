{{ config(
    materialized='incremental',
    on_schema_change='fail',
    **replaced_by_chat()
) }}

with

messages as (

    select * from {{ ref('int_messages') }}
    {% if is_incremental() %}
        where {{ chat_is_touched(ref('int_messages'), 'ended_at') }}
    {% endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by dialog_id
            order by sent_at, message_id
        ) as message_rank,
        -- rank among the dialog's messages of the same sender kind
        row_number() over (
            partition by dialog_id, sender_kind
            order by sent_at, message_id
        ) as sender_kind_rank
    from messages

),

conversation_ranked as (

    -- client and manager messages only: automation and system never open a conversation
    select
        dialog_id,
        sender_kind,
        row_number() over (
            partition by dialog_id
            order by sent_at, message_id
        ) as conversation_rank
    from messages
    where sender_kind in ('client', 'manager')

),

openers as (

    select
        dialog_id,
        sender_kind as opener_sender_kind
    from conversation_ranked
    where conversation_rank = 1

),

dialogs as (

    select
        dialog_id,
        min(chat_id) as chat_id,
        min(source) as source,
        min(channel) as channel,
        min(client_id) as client_id,
        min(channel_owner_manager_id) as channel_owner_manager_id,
        max(case when message_rank = 1 then direction end) as first_message_direction,
        max(case when sender_kind = 'manager' and sender_kind_rank = 1 then manager_id end)
            as first_manager_id,
        count(case when sender_kind = 'client' then 1 end) as client_message_count,
        count(case when sender_kind = 'manager' then 1 end) as manager_message_count,
        count(*) as message_count,
        min(sent_at) as started_at,
        max(sent_at) as ended_at
    from ranked
    group by dialog_id

),

directed as (

    select
        dialogs.*,
        -- a dialog of system messages only (e.g. a missed call) takes its first message's direction
        case openers.opener_sender_kind
            when 'client' then 'incoming'
            when 'manager' then 'outgoing'
            else dialogs.first_message_direction
        end as direction
    from dialogs
    left join openers
        on dialogs.dialog_id = openers.dialog_id

),

final as (

    select
        dialog_id,
        chat_id,
        source,
        channel,
        client_id,
        coalesce(first_manager_id, channel_owner_manager_id, 'unassigned') as owner_manager_id,
        direction,
        direction = 'outgoing' and client_message_count = 0 as is_unanswered_outreach,
        client_message_count,
        manager_message_count,
        message_count,
        started_at,
        ended_at
    from directed

)

select *{{ chat_bucket_column() }} from final
