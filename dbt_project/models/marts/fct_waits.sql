{{ config(
    materialized='incremental',
    on_schema_change='fail',
    **replaced_by_chat()
) }}

-- depends_on: {{ ref('int_messages') }}

with

waits as (

    select * from {{ ref('int_waits') }}
    {% if is_incremental() %}
        where {{ chat_is_touched(ref('int_messages'), 'started_at') }}
    {% endif %}

),

final as (

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
        business_response_time_s,
        started_at,
        replied_at,
        open_until
    from waits

)

select *{{ chat_bucket_column() }} from final
