{#
    The renamed select of a chat export's messages (Telegram, WhatsApp): both loaders write
    one raw shape, so the staging models differ only in the channel, the author's id and
    what makes a group chat. Renames and casts only, like every staging model.

        renamed as (
            {{ export_messages_renamed('whatsapp', 'author_id as author_whatsapp_name', "chat_type = 'group'") }}
        )

    `relation` is the raw messages (the model's import CTE `source`); the source column is
    '<channel>_export'.
#}
{% macro export_messages_renamed(channel, author_column, group_chat_condition, relation='source') %}
    select

        ---------- ids
        message_id,
        chat_id,
        manager_id as export_manager_id,
        {{ author_column }},

        ---------- strings
        '{{ channel }}_export' as source,
        '{{ channel }}' as channel,
        chat_name,
        chat_type,
        author_name,
        author_side as sender_kind,
        case when author_side = 'manager' then 'outgoing' else 'incoming' end as direction,
        message_type,
        client_phone,
        client_username,
        text as message_text,

        ---------- booleans
        coalesce({{ group_chat_condition }}, false) as is_group_chat,
        coalesce(is_deleted, false) as is_deleted,
        coalesce(is_edited, false) as is_edited,

        ---------- timestamps
        sent_at

    from {{ relation }}
{% endmacro %}
