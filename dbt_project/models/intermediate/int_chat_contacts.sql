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
        cast(contact_id as text) as contact_id,
        primary_phone,
        lower(replace(telegram_username, '@', '')) as telegram_username
    from amocrm_contacts

    union all

    select
        'bitrix24' as crm,
        cast(contact_id as text) as contact_id,
        primary_phone,
        lower(replace(telegram_username, '@', '')) as telegram_username
    from bitrix24_contacts

),

matches as (

    -- by phone first (E.164 digits on both sides), else by Telegram username
    select
        chats.chat_id,
        contacts.crm,
        contacts.contact_id,
        case
            when chats.client_phone = contacts.primary_phone then 'phone'
            else 'telegram_username'
        end as matched_by
    from chats
    inner join contacts
        on
            chats.client_phone = contacts.primary_phone
            or chats.client_username = contacts.telegram_username

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
