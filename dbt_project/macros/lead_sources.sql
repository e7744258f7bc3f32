{#
    The lead source of a deal (settings CHATSALES_LEAD_SOURCE_FIELDS / _CHANNELS, reaching dbt
    as vars lead_source_fields and lead_source_channels): which CRM fields name it, and which
    of their values is which messenger channel. Values and field names match ignoring case.
#}

{# The configured fields, lower case, in the order given (the first one found wins). #}
{% macro lead_source_field_names() -%}
    {%- set names = [] -%}
    {%- for name in var('lead_source_fields').split(';') if name.strip() -%}
        {%- do names.append(name.strip() | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{# The rank (1, 2, ...) of a custom field among the configured lead source fields, by id or name; null when it is none. #}
{% macro lead_source_field_rank(field_id, field_name) -%}
    case
        {%- for name in lead_source_field_names() %}
            when lower({{ field_id }}) = {{ sql_text(name) }} or lower({{ field_name }}) = {{ sql_text(name) }} then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}


{# The channel of a lead source value, or null when the value maps to none. #}
{% macro lead_source_channel(value) -%}
    case lower(trim({{ value }}))
        {%- for pair in var('lead_source_channels').split(';') if '=' in pair %}
            {%- set source_value, channel = pair.rsplit('=', 1) %}
            when {{ sql_text(source_value.strip() | lower) }} then {{ sql_text(channel.strip() | lower) }}
        {%- endfor %}
    end
{%- endmacro %}


{# A Python string as a SQL text literal. #}
{% macro sql_text(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}


{# One row per element of a JSON array held as text, as column `element` (JSON), for a lateral join. #}
{% macro json_array_elements(json_text) -%}
    {{ return(adapter.dispatch('json_array_elements', 'chatsales')(json_text)) }}
{%- endmacro %}

{% macro default__json_array_elements(json_text) -%}
    (select jsonb_array_elements(cast({{ json_text }} as jsonb)) as element)
{%- endmacro %}

{% macro duckdb__json_array_elements(json_text) -%}
    (select unnest(cast({{ json_text }} as json[])) as element)
{%- endmacro %}

{# Spark has no JSON type: each element as JSON text (read with json_text_field). #}
{% macro spark__json_array_elements(json_text) -%}
    (select explode(from_json({{ json_text }}, 'array<string>')) as element)
{%- endmacro %}


{# A top-level field of a JSON object as text (`->>`). #}
{% macro json_text_field(json_object, field) -%}
    {{ return(adapter.dispatch('json_text_field', 'chatsales')(json_object, field)) }}
{%- endmacro %}

{% macro default__json_text_field(json_object, field) -%}
    {{ json_object }} ->> '{{ field }}'
{%- endmacro %}

{% macro spark__json_text_field(json_object, field) -%}
    get_json_object({{ json_object }}, '$.{{ field }}')
{%- endmacro %}
