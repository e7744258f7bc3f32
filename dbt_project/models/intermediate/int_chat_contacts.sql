with

messages as (

    select * from {{ ref('int_messages') }}

),

amocrm_contacts as (

    select * from {{ ref('stg_amocrm__contacts') }}

),

bitrix24_contacts as (

    select * from {{ ref('stg_bitrix24__contacts') }}

),

chats as (

    select
        chat_id,
        max(client_phone) as client_phone,
        max(client_username) as client_username
    from messages
    group by chat_id

),

contacts as (

    select
        'amocrm' as crm,
        cast(contact_id as {{ sql_type('text') }}) as contact_id,
        primary_phone,
        lower(replace(telegram_username, '@', '')) as telegram_username
    from amocrm_contacts

    union all

    select
        'bitrix24' as crm,
        cast(contact_id as {{ sql_type('text') }}) as contact_id,
        primary_phone,
        lower(replace(telegram_username, '@', '')) as telegram_username
    from bitrix24_contacts

),

-- two equality joins, not one join on `phone = phone or username = username`: an `or`
-- cannot be hashed, and every chat would be compared with every contact (236 s at 10M
-- messages against ~1 s). A pair matched both ways comes twice; ranked keeps the phone match.
phone_matches as (

    select
        chats.chat_id,
        contacts.crm,
        contacts.contact_id,
        'phone' as matched_by
    from chats
    inner join contacts
        on chats.client_phone = contacts.primary_phone

),

username_matches as (

    select
        chats.chat_id,
        contacts.crm,
        contacts.contact_id,
        'telegram_username' as matched_by
    from chats
    inner join contacts
        on chats.client_username = contacts.telegram_username

),

matches as (

    -- by phone first (E.164 digits on both sides), else by Telegram username
    select
        chat_id,
        crm,
        contact_id,
        matched_by
    from phone_matches

    union all

    select
        chat_id,
        crm,
        contact_id,
        matched_by
    from username_matches

),

ranked as (

    select
        *,
        row_number() over (
            partition by chat_id
            order by case when matched_by = 'phone' then 0 else 1 end, crm, contact_id
        ) as match_rank
    from matches

)

select
    chat_id,
    crm,
    contact_id,
    matched_by
from ranked
where match_rank = 1
