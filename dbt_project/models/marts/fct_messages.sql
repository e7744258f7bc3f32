{{ config(
    materialized='incremental',
    unique_key='chat_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with

messages as (

    select * from {{ ref('int_messages') }}
    {% if is_incremental() %}
        where {{ chat_is_touched(ref('int_messages'), 'sent_at') }}
    {% endif %}

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
