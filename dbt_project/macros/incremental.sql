{#
    Incremental models over messages recompute whole chats: a dialog number, a wait and its
    status depend on every earlier message of the chat. This condition keeps the chats with a
    message in the last incremental_lookback_days + dialog_gap_hours before the model's own
    latest data: late messages land, and waits pending at the previous run get settled
    (a pending wait is within dialog_gap_hours of the previous end of data).

        where {{ chat_is_touched('messages', 'sent_at') }}

    `messages` needs chat_id and sent_at; `watermark_column` is a timestamp of {{ this }}.
#}
{% macro chat_is_touched(messages, watermark_column, chat_column='chat_id') -%}
    {%- set hours = var('incremental_lookback_days') * 24 + var('dialog_gap_hours') -%}
    {{ chat_column }} in (
        select touched.chat_id
        from {{ messages }} as touched
        where touched.sent_at >= (
            select coalesce(max({{ watermark_column }}), cast('1900-01-01' as timestamp)) from {{ this }}
        ) - interval '{{ hours }} hours'
    )
{%- endmacro %}
