with

messages as (

    select * from {{ ref('int_messages') }}

)

select
    message_id,
    source,
    channel,
    chat_id,
    client_id,
    manager_id,
    dialog_id,
    direction,
    sender_kind,
    message_type,
    is_deleted,
    sent_at
from messages
