with

source as (

    select * from {{ source('raw_whatsapp', 'messages') }}

),

renamed as (

    {{ export_messages_renamed(
        'whatsapp',
        author_column='author_id as author_whatsapp_name',
        group_chat_condition="chat_type = 'group'",
    ) }}

)

select * from renamed
