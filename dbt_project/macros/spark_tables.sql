{#
    Spark's Parquet tables have no DELETE and cannot be overwritten by a query that reads
    them (but partition by partition: see replaced_by). What the other warehouses do with
    DELETE is done here by rewriting the table: the rows to keep go into a scratch table, which
    then overwrites the table.
#}

{#
    A scratch table next to `relation`, named for this dbt invocation: a killed run leaves its
    folder behind, and Spark refuses to create a managed table over an existing folder.
#}
{% macro spark_scratch_relation(relation, suffix) -%}
    {%- set identifier = relation.identifier ~ '__dbt_' ~ suffix ~ '_' ~ invocation_id.replace('-', '')[:12] -%}
    {{ return(relation.incorporate(path={'identifier': identifier})) }}
{%- endmacro %}


{#
    The statements (one each: Spark runs one a call) that replace the rows of `relation` by
    those of `select_sql`, which may read `relation`. Every partition is replaced (static
    overwrite, whatever an insert_overwrite model set before), emptied ones included.
#}
{% macro spark_rewrite_statements(relation, select_sql) -%}
    {%- set scratch = spark_scratch_relation(relation, 'rewrite') -%}
    {{ return([
        'set spark.sql.sources.partitionOverwriteMode = STATIC',
        'drop table if exists ' ~ scratch,
        'create table ' ~ scratch ~ ' using parquet as ' ~ select_sql,
        'insert overwrite table ' ~ relation ~ ' select * from ' ~ scratch ~ ' ' ~ spark_distribute_by_partition(),
        'drop table if exists ' ~ scratch,
    ]) }}
{%- endmacro %}


{#
    The post-hooks (a list, run in order, each one statement) that delete the model's rows where
    `condition` holds. Called in config(), so a model names its hooks the same on every warehouse:
    `post_hook=delete_rows_hooks('kind is null') + keep_inputs_hooks(...)`.
#}
{% macro delete_rows_hooks(condition) -%}
    {{ return(adapter.dispatch('delete_rows_hooks', 'chatsales')(condition)) }}
{%- endmacro %}

{% macro default__delete_rows_hooks(condition) -%}
    {{ return(["{{ delete_rows(this, '" ~ condition ~ "') }}"]) }}
{%- endmacro %}

{% macro delete_rows(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}

{#
    Parquet tables have no DELETE: each statement of the rewrite is a hook of its own. They are
    only counted here, on a stand-in relation: `this` is none where `dbt test` renders a unit
    test's config.
#}
{% macro spark__delete_rows_hooks(condition) -%}
    {%- set hooks = [] -%}
    {%- set counted = spark_rewrite_statements(api.Relation.create(identifier='counted'), 'true') -%}
    {%- for step in range(counted | length) -%}
        {%- do hooks.append("{{ spark_delete_rows_statements(this, '" ~ condition ~ "')[" ~ step ~ "] }}") -%}
    {%- endfor -%}
    {{ return(hooks) }}
{%- endmacro %}

{% macro spark_delete_rows_statements(relation, condition) -%}
    {{ return(spark_rewrite_statements(
        relation, 'select * from ' ~ relation ~ ' where not coalesce(' ~ condition ~ ', false)'
    )) }}
{%- endmacro %}


{# keep_inputs on Spark: one statement a hook (keep_inputs_hooks drops the old table first). #}
{% macro spark__keep_inputs(inputs_sql) -%}
    create table {{ kept_inputs_relation() }} using parquet as {{ inputs_sql }}
{%- endmacro %}

{% macro spark__keep_inputs_hooks(inputs) -%}
    {{ return([
        "drop table if exists {{ kept_inputs_relation() }}",
        "{{ keep_inputs(" ~ inputs ~ ") }}",
    ]) }}
{%- endmacro %}


{#
    Spark's analyzer copies a CTE into every place that reads it: a scalar subquery over a chain
    of CTEs, read by CTEs the model reads many times, made mart_manager_metrics' plan outgrow
    the driver's heap, and mart_interventions' tasks fail to deserialize their plans
    (`UnionExec.children`). `body` is computed here once instead (a query while the model's
    SQL renders, at execution; it writes nothing), and its row goes in as literals.
#}
{% macro spark__one_row_cte(name, body, columns, ctes) -%}
    {%- set values = [] -%}
    {%- if execute -%}
        {%- set query -%}
            with {{ ctes }}
            select {% for column in columns %}cast(one_row.{{ column }} as string){% if not loop.last %}, {% endif %}{% endfor %}
            from ({{ body }}) as one_row
        {%- endset -%}
        {%- set rows = run_query(query).rows -%}
        {%- if rows | length != 1 -%}
            {%- do exceptions.raise_compiler_error(name ~ ' has ' ~ (rows | length) ~ ' rows, not one') -%}
        {%- endif -%}
        {%- set values = rows[0] -%}
    {%- endif -%}
    {{ name }} as (
        select
        {%- for column in columns %}
            cast({{ "'" ~ values[loop.index0] ~ "'" if values and values[loop.index0] is not none else 'null' }} as timestamp)
                as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
{%- endmacro %}


{#
    A partitioned table's rows, sent to Spark's writer grouped by partition. Otherwise each task
    writes a file for every partition its rows fall in: a union of many selects wrote
    mart_period_comparison's 83 partitions (a slice of three months) as 1,462 files, each
    written, committed and later listed and read on its own. Distributed by the partition
    columns, a partition is one task's, so one file.
#}
{% macro spark_distribute_by_partition() -%}
    {%- set partition_by = config.get('partition_by') -%}
    {%- if partition_by -%}
        distribute by {{ ([partition_by] if partition_by is string else partition_by) | join(', ') }}
    {%- endif -%}
{%- endmacro %}

{# dbt-spark's create_table_as: a partitioned table's rows distributed by partition; views as they are. #}
{% macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {%- if language == 'sql' and not temporary and config.get('partition_by') -%}
        {%- set compiled_code = 'select * from (' ~ compiled_code ~ ') ' ~ spark_distribute_by_partition() -%}
    {%- endif -%}
    {{ dbt.spark__create_table_as(temporary, relation, compiled_code, language) }}
{%- endmacro %}

{# dbt-spark's insert_overwrite of an incremental run, its rows distributed by partition. #}
{% macro get_insert_overwrite_sql(source_relation, target_relation, existing_relation) -%}
    {{ dbt.get_insert_overwrite_sql(source_relation, target_relation, existing_relation) }}
    {{ spark_distribute_by_partition() }}
{%- endmacro %}
