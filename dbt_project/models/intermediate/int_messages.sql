{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    **replaced_by_chat()
) }}

with

wazzup_messages as (

    select * from {{ ref('stg_wazzup__messages') }}

),

telegram_messages as (

    select * from {{ ref('stg_telegram__messages') }}

),

whatsapp_messages as (

    select * from {{ ref('stg_whatsapp__messages') }}

),

identities as (

    select * from {{ ref('int_manager_identities') }}

),

managers as (

    select * from {{ ref('stg_directory__managers') }}

),

wazzup as (

    -- chats belong to the channel's owner; a reply sent from the CRM to its author,
    -- one sent from the phone (no author) to the channel's owner
    select
        wazzup_messages.message_id,
        wazzup_messages.source,
        wazzup_messages.channel,
        wazzup_messages.source || ':' || wazzup_messages.wazzup_channel_id
        || ':' || wazzup_messages.chat_id as chat_id,
        -- a 1:1 whatsapp/viber chat id is the client's phone; other chats may report one
        case
            when wazzup_messages.channel in ('whatsapp', 'viber') and not wazzup_messages.is_group_chat
                then {{ normalized_phone('wazzup_messages.chat_id') }}
            else {{ normalized_phone('wazzup_messages.contact_phone') }}
        end as client_phone,
        lower(wazzup_messages.contact_username) as client_username,
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
        wazzup_messages.sent_at,
        wazzup_messages.author_name,
        wazzup_messages.message_text
    from wazzup_messages
    left join identities as crm_users
        on
            crm_users.identity_kind = 'crm_user_id'
            and wazzup_messages.author_crm_user_id = crm_users.identity_value
    left join identities as channel_owners
        on
            channel_owners.identity_kind = 'wazzup_channel_id'
            and wazzup_messages.wazzup_channel_id = channel_owners.identity_value

),

{% for export, identity_kind, author_column in [
    ('telegram', 'telegram_user_id', 'author_telegram_user_id'),
    ('whatsapp', 'whatsapp_name', 'author_whatsapp_name'),
] %}
    {{ export }} as (

        -- chats belong to the manager who exported them ('unassigned' when the folder is no
        -- manager of managers.csv: see data_issues); a manager message to its author when
        -- the author is a known manager (group chats), else to the chat's owner
        select
            exported.message_id,
            exported.source,
            exported.channel,
            exported.source || ':' || exported.chat_id as chat_id,
            {{ normalized_phone('exported.client_phone') }} as client_phone,
            lower(exported.client_username) as client_username,
            exported.channel || ':' || exported.chat_id as channel_chat_id,
            case
                when exported.sender_kind = 'manager'
                    then coalesce(authors.manager_id, owners.manager_id, 'unassigned')
                else coalesce(owners.manager_id, 'unassigned')
            end as manager_id,
            owners.manager_id as channel_owner_manager_id,
            exported.direction,
            exported.sender_kind,
            exported.message_type,
            exported.is_deleted,
            exported.sent_at,
            exported.author_name,
            exported.message_text
        from {{ export }}_messages as exported
        left join managers as owners
            on exported.export_manager_id = owners.manager_id
        left join identities as authors
            on
                authors.identity_kind = '{{ identity_kind }}'
                and exported.{{ author_column }} = authors.identity_value

    ),

{% endfor %}
unioned as (

    select * from wazzup
    union all
    select * from telegram
    union all
    select * from whatsapp

),

messages as (

    select * from unioned
    {% if is_incremental() and not message_text_setting_changed() %}
        where {{ chat_is_touched('unioned', 'sent_at') }}
    {% endif %}

),

sequenced as (

    select
        *,
        lag(sent_at) over (
            partition by chat_id
            order by sent_at, message_id
        ) as previous_sent_at,
        -- the phone or username may be reported on some messages only: one per chat
        max(client_phone) over (partition by chat_id) as chat_client_phone,
        max(client_username) over (partition by chat_id) as chat_client_username
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
        coalesce(chat_client_phone, channel_chat_id) as client_id,
        chat_client_phone as client_phone,
        chat_client_username as client_username,
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
        sent_at,
        author_name,
        {{ shown_message_text('message_text') }} as message_text,
        {{ message_text_masked() }} as is_text_masked
    from dialog_numbers

)

select *{{ chat_bucket_column() }} from final
