with

source as (

    select * from {{ source('raw_wazzup', 'messages') }}

),

renamed as (

    select

        ---------- ids
        message_id,
        channel_id as wazzup_channel_id,
        chat_id,
        author_id as author_crm_user_id,

        ---------- strings
        'wazzup' as source,
        case
            when chat_type in ('whatsapp', 'whatsgroup') then 'whatsapp'
            when chat_type in ('telegram', 'telegroup') then 'telegram'
            when chat_type in ('max', 'maxgroup') then 'max'
            when chat_type in ('viber', 'instagram', 'vk', 'avito') then chat_type
            else 'other'
        end as channel,
        chat_type,
        case when is_echo then 'outgoing' else 'incoming' end as direction,
        case
            when type in ('missing_call', 'system') then 'system'
            -- a WhatsApp template no CRM user sent: a broadcast or an integration's auto-message
            when is_echo and type = 'wapi_template' and author_id is null then 'automation'
            when is_echo then 'manager'
            else 'client'
        end as sender_kind,
        type as message_type,
        contact_phone,
        contact_username,
        contact_name,
        author_name,
        text as message_text,

        ---------- booleans
        coalesce(chat_type in ('whatsgroup', 'telegroup', 'maxgroup'), false) as is_group_chat,
        coalesce(is_deleted, false) as is_deleted,
        coalesce(is_edited, false) as is_edited,

        ---------- timestamps
        date_time as sent_at

    from source

)

select * from renamed
