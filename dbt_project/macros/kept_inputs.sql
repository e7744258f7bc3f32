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


{#
    The inputs the model computed from last time, or none: never kept, or kept by an older
    version without one of `required_columns` (recompute everything).
#}
{% macro kept_inputs(required_columns=[]) -%}
    {%- set kept = kept_inputs_relation() -%}
    {%- set relation = adapter.get_relation(database=kept.database, schema=kept.schema, identifier=kept.identifier) -%}
    {%- if relation is none or not required_columns -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(relation if required_columns | reject('in', stored) | list | length == 0 else none) }}
{%- endmacro %}


{#
    Post-hook: keep the inputs this run computed from (`inputs_sql`, a select), for the next
    run. In the model's transaction, so a failed run keeps the old ones and the next run
    redoes it.
#}
{% macro keep_inputs(inputs_sql) -%}
    {{ return(adapter.dispatch('keep_inputs', 'chatsales')(inputs_sql)) }}
{%- endmacro %}

{% macro default__keep_inputs(inputs_sql) -%}
    drop table if exists {{ kept_inputs_relation() }};
    create table {{ kept_inputs_relation() }} as {{ inputs_sql }}
{%- endmacro %}


{#
    The post-hooks (a list, for config()) that keep the inputs: `inputs` is the jinja expression
    of their select, rendered when the hook runs, e.g.
    `post_hook=keep_inputs_hooks("anomaly_inputs(ref('mart_manager_metrics'), …)")`.
#}
{% macro keep_inputs_hooks(inputs) -%}
    {{ return(adapter.dispatch('keep_inputs_hooks', 'chatsales')(inputs)) }}
{%- endmacro %}

{% macro default__keep_inputs_hooks(inputs) -%}
    {{ return(["{{ keep_inputs(" ~ inputs ~ ") }}"]) }}
{%- endmacro %}
