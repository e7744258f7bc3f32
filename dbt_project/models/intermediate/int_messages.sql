with

wazzup_messages as (

    select * from {{ ref('stg_wazzup__messages') }}

),

identities as (

    select * from {{ ref('int_manager_identities') }}

),

crm_users as (

    select
        identity_value as crm_user_id,
        manager_id
    from identities
    where identity_kind = 'crm_user_id'

),

channel_owners as (

    select
        identity_value as wazzup_channel_id,
        manager_id
    from identities
    where identity_kind = 'wazzup_channel_id'

),

messages as (

    select
        wazzup_messages.message_id,
        wazzup_messages.source,
        wazzup_messages.channel,
        wazzup_messages.source || ':' || wazzup_messages.wazzup_channel_id
        || ':' || wazzup_messages.chat_id as chat_id,
        -- a 1:1 whatsapp/viber chat id is the client's phone; other chats may report one
        case
            when wazzup_messages.channel in ('whatsapp', 'viber') and not wazzup_messages.is_group_chat
                then {{ phone_digits('wazzup_messages.chat_id') }}
            else {{ phone_digits('wazzup_messages.contact_phone') }}
        end as client_phone,
        wazzup_messages.channel || ':' || wazzup_messages.chat_id as channel_chat_id,
        coalesce(
            case when wazzup_messages.direction = 'outgoing' then crm_users.manager_id end,
            channel_owners.manager_id,
            'unassigned'
        ) as manager_id,
        channel_owners.manager_id as channel_owner_manager_id,
        wazzup_messages.direction,
        wazzup_messages.sender_kind,
        wazzup_messages.message_type,
        wazzup_messages.is_deleted,
        wazzup_messages.sent_at
    from wazzup_messages
    left join crm_users
        on wazzup_messages.author_crm_user_id = crm_users.crm_user_id
    left join channel_owners
        on wazzup_messages.wazzup_channel_id = channel_owners.wazzup_channel_id

),

sequenced as (

    select
        *,
        lag(sent_at) over (
            partition by chat_id
            order by sent_at, message_id
        ) as previous_sent_at,
        -- the phone may be reported on some messages only: one client id per chat
        coalesce(
            max(client_phone) over (partition by chat_id),
            channel_chat_id
        ) as client_id
    from messages

),

dialog_starts as (

    select
        *,
        case
            when previous_sent_at is null then 1
            -- exactly dialog_gap_hours later is still the same dialog
            when
                {{ seconds_between('previous_sent_at', 'sent_at') }}
                > {{ var('dialog_gap_hours') }} * 3600
                then 1
            else 0
        end as starts_dialog
    from sequenced

),

dialog_numbers as (

    select
        *,
        sum(starts_dialog) over (
            partition by chat_id
            order by sent_at, message_id
            rows between unbounded preceding and current row
        ) as dialog_number
    from dialog_starts

),

final as (

    select
        message_id,
        source,
        channel,
        chat_id,
        client_id,
        manager_id,
        channel_owner_manager_id,
        'dialog:' || first_value(source || ':' || message_id) over (
            partition by chat_id, dialog_number
            order by sent_at, message_id
        ) as dialog_id,
        direction,
        sender_kind,
        message_type,
        is_deleted,
        sent_at
    from dialog_numbers

)

select * from final
