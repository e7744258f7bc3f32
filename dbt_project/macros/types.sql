{#
    A column type spelled as PostgreSQL and DuckDB spell it ('text', 'varchar', 'double precision',
    'timestamp with time zone'), as this warehouse spells it: `cast(x as {{ sql_type('text') }})`.
#}
{% macro sql_type(data_type) -%}
    {{ return(adapter.dispatch('sql_type', 'chatsales')(data_type)) }}
{%- endmacro %}

{% macro default__sql_type(data_type) -%}
    {{ data_type }}
{%- endmacro %}

{# Spark has no text/varchar without a length, no `double precision`; its timestamp is an instant. #}
{% macro spark__sql_type(data_type) -%}
    {%- set spark_types = {
        'text': 'string',
        'varchar': 'string',
        'double precision': 'double',
        'timestamp with time zone': 'timestamp',
    } -%}
    {{ spark_types.get(data_type | lower, data_type) }}
{%- endmacro %}
