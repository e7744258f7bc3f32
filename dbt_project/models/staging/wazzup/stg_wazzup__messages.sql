with

source as (

    select * from {{ source('raw_wazzup', 'messages') }}

),

latest_versions as (

    -- An edit or a delete re-sends the message, and Wazzup retries a failed delivery for up
    -- to 24 hours, so versions arrive in any order: a delete beats an edit beats the
    -- original, whatever came last; between two edits, the later delivery.
    select * from (
        select
            *,
            row_number() over (
                partition by message_id
                order by
                    coalesce(is_deleted, false) desc,
                    coalesce(is_edited, false) desc,
                    landing_position desc
            ) as version_rank
        from source
    ) as ranked
    where version_rank = 1

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

    from latest_versions

)

select * from renamed
