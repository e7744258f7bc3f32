{#
    Which of `columns` the incremental model's table lacks: a table built by an older version
    of the model, before those columns existed. Empty when the table has them all or cannot
    be read (a first build, a unit test's `this`). A model can then redo what the missing
    columns would have told it and let on_schema_change='append_new_columns' add them.
    Alone in its file: sqlfluff's jinja templater honours `return` only in a macro called
    from another file.
#}
{% macro stored_columns_missing(columns) -%}
    {%- if not execute or this is string -%}  {#- a unit test's `this` is its fixture's name -#}
        {{ return([]) }}
    {%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return(columns | reject('in', stored) | list if stored else []) }}
{%- endmacro %}
