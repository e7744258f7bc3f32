{#
    Incremental models over messages recompute whole chats: a dialog number, a wait and its
    status depend on every earlier message of the chat. This condition picks the chats to
    recompute: those with a message at or after recompute_window_start.

        where {{ chat_is_touched('messages', 'sent_at') }}

    `messages` needs chat_id and sent_at; `watermark_column` is a timestamp of {{ this }}.
#}
{% macro chat_is_touched(messages, watermark_column, chat_column='chat_id') -%}
    {{ chat_column }} in (
        select touched.chat_id
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
