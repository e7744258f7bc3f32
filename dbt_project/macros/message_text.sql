{% macro message_text_masked() -%}
    {{ return((var('mask_message_text') | string | trim | lower) in ['true', '1', 'yes']) }}
{%- endmacro %}


{% macro shown_message_text(column) -%}
    {%- if message_text_masked() -%}
        cast(null as {{ sql_type('text') }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}


{#
    Whether rows of `this` were written under the other masking setting (or before the model
    had the column): the incremental run then recomputes every chat, so masking or unmasking
    reaches all history, not only the touched chats.
#}
{% macro message_text_setting_changed() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'is_text_masked' not in columns -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set other_setting = run_query(
        'select 1 from ' ~ this ~ ' where is_text_masked <> ' ~ message_text_masked() ~ ' limit 1'
    ) -%}
    {{ return(other_setting.rows | length > 0) }}
{%- endmacro %}
