{#
    The reporting grains, finest first: periods are cut per grain in the reporting time zone.
    Alone in its file: sqlfluff's jinja templater honours dbt's `return` only in a macro
    called from another file.
#}
{% macro reporting_grains() -%}
    {{ return(['day', 'week', 'month', 'quarter', 'year']) }}
{%- endmacro %}
