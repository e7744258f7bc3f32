with

dialogs as (

    select * from {{ ref('int_dialogs') }}

)

select
    dialog_id,
    chat_id,
    source,
    channel,
    client_id,
    owner_manager_id,
    direction,
    is_new_client,
    is_unanswered_outreach,
    client_message_count,
    manager_message_count,
    message_count,
    started_at,
    ended_at
from dialogs
