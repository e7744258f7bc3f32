with

source as (

    select * from {{ source('raw_telegram', 'messages') }}

),

renamed as (

    {# 'user123' in the export, '123' in managers.csv telegram_user_ids #}
    {{ export_messages_renamed(
        'telegram',
        author_column="replace(author_id, 'user', '') as author_telegram_user_id",
        group_chat_condition="chat_type != 'personal_chat'",
    ) }}

)

select * from renamed
