with

source as (

    select * from {{ source('raw_telegram', 'messages') }}

),

renamed as (

    select

        ---------- ids
        message_id,
        chat_id,
        manager_id as export_manager_id,
        -- 'user123' in the export, '123' in managers.csv telegram_user_ids
        replace(author_id, 'user', '') as author_telegram_user_id,

        ---------- strings
        'telegram_export' as source,
        'telegram' as channel,
        chat_name,
        chat_type,
        author_name,
        author_side as sender_kind,
        case when author_side = 'manager' then 'outgoing' else 'incoming' end as direction,
        message_type,
        client_phone,
        client_username,

        ---------- booleans
        coalesce(chat_type != 'personal_chat', false) as is_group_chat,
        coalesce(is_deleted, false) as is_deleted,
        coalesce(is_edited, false) as is_edited,

        ---------- timestamps
        sent_at

    from source

)

select * from renamed
