{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    **replaced_by_chat()
) }}

with

messages as (

    select * from {{ ref('int_messages') }}
    {% if is_incremental() and not message_text_setting_changed() %}
        where {{ chat_is_touched(ref('int_messages'), 'sent_at') }}
    {% endif %}

),

final as (

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
        sent_at,
        author_name,
        message_text,
        is_text_masked
    from messages

)

select *{{ chat_bucket_column() }} from final
