{#
    How an incremental model replaces the rows it recomputes, as config keys:

        config(materialized='incremental', **replaced_by(['grain', 'period_start']))

    - DuckDB, PostgreSQL: delete+insert on `unique_key`.
    - Spark: Parquet tables have no DELETE. The table is partitioned by `partition_by` (default
      the unique key), and a run overwrites each partition its new rows fall in
      (insert_overwrite, dynamic), so the new rows must fill each of their partitions whole.
      Partitioned by the unique key, that is delete+insert; chat-keyed models partition by
      chat_bucket (chat_partition) and recompute every chat of a touched bucket.
#}
{% macro replaced_by(unique_key, partition_by=none) -%}
    {{ return(adapter.dispatch('replaced_by', 'chatsales')(unique_key, partition_by)) }}
{%- endmacro %}

{% macro default__replaced_by(unique_key, partition_by) -%}
    {{ return({'unique_key': unique_key, 'incremental_strategy': 'delete+insert'}) }}
{%- endmacro %}

{% macro spark__replaced_by(unique_key, partition_by) -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'partition_by': partition_by or unique_key}) }}
{%- endmacro %}

{# replaced_by for the chat-keyed models: by chat; on Spark, by the column chat_bucket_column adds. #}
{% macro replaced_by_chat() -%}
    {{ return(replaced_by('chat_id', partition_by='chat_bucket')) }}
{%- endmacro %}


{#
    The part of a chat-keyed model that an incremental run replaces, for the chat in
    `chat_column`: the chat itself; on Spark, one of var('spark_chat_buckets') buckets of chats
    (a partition per chat would be a folder per chat).
#}
{% macro chat_partition(chat_column) -%}
    {{ return(adapter.dispatch('chat_partition', 'chatsales')(chat_column)) }}
{%- endmacro %}

{% macro default__chat_partition(chat_column) -%}
    {{ chat_column }}
{%- endmacro %}

{% macro spark__chat_partition(chat_column) -%}
    pmod(xxhash64({{ chat_column }}), {{ var('spark_chat_buckets') }})
{%- endmacro %}


{#
    On Spark, the partition column of a chat-keyed model, after its other columns:
    `select *{{ chat_bucket_column() }} from final`. Nothing elsewhere.
#}
{% macro chat_bucket_column(chat_column='chat_id') -%}
    {{ return(adapter.dispatch('chat_bucket_column', 'chatsales')(chat_column)) }}
{%- endmacro %}

{% macro default__chat_bucket_column(chat_column) -%}
{%- endmacro %}

{% macro spark__chat_bucket_column(chat_column) -%}
    , {{ chat_partition(chat_column) }} as chat_bucket
{%- endmacro %}


{#
    Incremental models over messages recompute whole chats: a dialog number, a wait and its
    status depend on every earlier message of the chat. This condition picks the chats to
    recompute: those with a message at or after recompute_window_start, with every chat of
    their partition (chat_partition).

        where {{ chat_is_touched('messages', 'sent_at') }}

    `messages` needs chat_id and sent_at; `watermark_column` is a timestamp of {{ this }}.
#}
{% macro chat_is_touched(messages, watermark_column, chat_column='chat_id') -%}
    {{ chat_partition(chat_column) }} in (
        select {{ chat_partition('touched.chat_id') }}
        from {{ messages }} as touched
        where touched.sent_at >= {{ recompute_window_start(
            "(select coalesce(max(" ~ watermark_column ~ "), cast('1900-01-01' as timestamp)) from "
            ~ this ~ ")"
        ) }}
        {%- if var('window_start', none) and var('window_end', none) %}
            and touched.sent_at < {{ from_reporting_time("cast('" ~ var('window_end') ~ "' as timestamp)") }}
        {%- endif %}
    )
{%- endmacro %}


{#
    The first instant whose messages a run recomputes:

    - a partition run (Dagster passes vars window_start / window_end, local dates, the end
      exclusive): dialog_gap_hours before the window, so waits pending at its start settle;
    - otherwise (catch-up): incremental_lookback_days + dialog_gap_hours before `watermark`,
      the latest message the models had, so late messages land.
#}
{% macro recompute_window_start(watermark) -%}
    {%- set gap_hours = var('dialog_gap_hours') -%}
    {%- if var('window_start', none) and var('window_end', none) -%}
        {{ from_reporting_time("cast('" ~ var('window_start') ~ "' as timestamp)") }}
        - interval '{{ gap_hours }} hours'
    {%- else -%}
        {{ watermark }} - interval '{{ var("incremental_lookback_days") * 24 + gap_hours }} hours'
    {%- endif -%}
{%- endmacro %}


{#
    One row per reporting grain: the first period an incremental mart recomputes, the one
    holding `recompute_from` (a timestamptz expression); every later period is recomputed too.
    Medians and percentiles stay exact because each recomputed period is rebuilt from all of
    its rows: a year grain re-reads its whole year, never all history.
#}
{% macro recomputed_periods(recompute_from) %}
    {% for grain in reporting_grains() %}
        select
            '{{ grain }}' as grain,
            {{ period_start(grain, recompute_from) }} as period_from
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endmacro %}


{% macro join_recomputed_periods(relation) %}
    inner join recomputed_periods
        on
            {{ relation }}.grain = recomputed_periods.grain
            and {{ relation }}.period_start >= recomputed_periods.period_from
{% endmacro %}


{#
    The CTE `name as (body)`, one row of the timestamp columns `columns` that the model reads
    in scalar subqueries; `ctes` are the CTE definitions `body` reads (the model writes them
    out itself, before this one). Here as written; on Spark (spark_tables.sql) `body` is
    computed once, before the model's own statement, and its row goes in as literals.
#}
{% macro one_row_cte(name, body, columns, ctes) -%}
    {{ return(adapter.dispatch('one_row_cte', 'chatsales')(name, body, columns, ctes)) }}
{%- endmacro %}

{% macro default__one_row_cte(name, body, columns, ctes) -%}
    {{ name }} as (
        {{ body }}
    )
{%- endmacro %}
