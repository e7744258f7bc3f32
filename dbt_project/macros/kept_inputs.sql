{#
    A downstream incremental mart cannot see its inputs' old values, only what it kept
    itself: mart_anomalies and mart_interventions keep the inputs they computed from in a
    table next to them, and their next incremental run compares the inputs with those kept
    to find what changed.
#}

{# Where the model keeps its inputs: the table <model>__inputs next to it. #}
{% macro kept_inputs_relation() -%}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__inputs'})) }}
{%- endmacro %}


{# The inputs the model computed from last time, or none (never kept: recompute everything). #}
{% macro kept_inputs() -%}
    {%- set kept = kept_inputs_relation() -%}
    {{ return(adapter.get_relation(database=kept.database, schema=kept.schema, identifier=kept.identifier)) }}
{%- endmacro %}


{#
    Post-hook: keep the inputs this run computed from (`inputs_sql`, a select), for the next
    run. In the model's transaction, so a failed run keeps the old ones and the next run
    redoes it.
#}
{% macro keep_inputs(inputs_sql) -%}
    drop table if exists {{ kept_inputs_relation() }};
    create table {{ kept_inputs_relation() }} as {{ inputs_sql }}
{%- endmacro %}
