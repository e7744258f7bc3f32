with

waits as (

    select * from {{ ref('int_waits') }}

)

select
    wait_id,
    dialog_id,
    chat_id,
    channel,
    client_id,
    credited_manager_id,
    replied_by_manager_id,
    reply_message_id,
    status,
    is_first_wait,
    client_message_count,
    response_time_s,
    started_at,
    replied_at
from waits
