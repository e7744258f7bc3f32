with

source as (

    select * from {{ source('raw_whatsapp', 'messages') }}

),

renamed as (

    select

        ---------- ids
        message_id,
        chat_id,
        manager_id as export_manager_id,
        author_id as author_whatsapp_name,

        ---------- strings
        'whatsapp_export' as source,
        'whatsapp' as channel,
        chat_name,
        chat_type,
        author_name,
        author_side as sender_kind,
        case when author_side = 'manager' then 'outgoing' else 'incoming' end as direction,
        message_type,
        client_phone,
        client_username,

        ---------- booleans
        coalesce(chat_type = 'group', false) as is_group_chat,
        coalesce(is_deleted, false) as is_deleted,
        coalesce(is_edited, false) as is_edited,

        ---------- timestamps
        sent_at

    from source

)

select * from renamed
