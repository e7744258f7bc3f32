{#
    Incremental models over messages recompute whole chats: a dialog number, a wait and its
    status depend on every earlier message of the chat. This condition picks the chats to
    recompute:

    - a partition run (Dagster passes vars window_start / window_end, local dates, the end
      exclusive): the chats with a message in the window or in the dialog_gap_hours before it,
      so waits pending at the window's start get settled;
    - otherwise (catch-up): the chats with a message in the last incremental_lookback_days +
      dialog_gap_hours before the model's own latest data, so late messages land.

        where {{ chat_is_touched('messages', 'sent_at') }}

    `messages` needs chat_id and sent_at; `watermark_column` is a timestamp of {{ this }}.
#}
{% macro chat_is_touched(messages, watermark_column, chat_column='chat_id') -%}
    {%- set window_start = var('window_start', none) -%}
    {%- set window_end = var('window_end', none) -%}
    {%- set gap_hours = var('dialog_gap_hours') -%}
    {{ chat_column }} in (
        select touched.chat_id
        from {{ messages }} as touched
        {%- if window_start and window_end %}
        where touched.sent_at >= {{ from_reporting_time(
            "cast('" ~ window_start ~ "' as timestamp)") }} - interval '{{ gap_hours }} hours'
            and touched.sent_at < {{ from_reporting_time("cast('" ~ window_end ~ "' as timestamp)") }}
        {%- else %}
        {%- set hours = var('incremental_lookback_days') * 24 + gap_hours %}
        where touched.sent_at >= (
            select coalesce(max({{ watermark_column }}), cast('1900-01-01' as timestamp)) from {{ this }}
        ) - interval '{{ hours }} hours'
        {%- endif %}
    )
{%- endmacro %}
