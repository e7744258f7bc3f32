{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    post_hook=delete_rows_hooks('metric is null') + keep_inputs_hooks(
        "intervention_inputs(ref('mart_manager_metrics'), ref('stg_directory__interventions'))"
    ),
    **replaced_by(['intervention_id'])
) }}
-- depends_on: {{ ref('mart_manager_metrics') }}
{#- the hypothesis columns: a table from before them is measured again whole, and gains them -#}
{%- set hypothesis_columns = ['description', 'expected_metric', 'expected_direction'] -%}
{%- set columns_missing = stored_columns_missing(
    hypothesis_columns + ['observed_direction', 'is_as_expected', 'status']
) if is_incremental() else [] -%}
{#- an incremental run compares the window days with those it measured last time (none kept, or
    a table without the hypothesis columns: measure all) -#}
{%- set inputs_kept = kept_inputs() if is_incremental() and not columns_missing else none -%}
{% set window_days = intervention_window_days() %}
{%- set columns = [
    ('intervention_id', 'varchar'), ('event_date', 'date'), ('manager_id', 'varchar'), ('kind', 'varchar'),
    ('title', 'varchar'), ('window_days', 'integer'), ('before_window_start', 'date'), ('after_window_end', 'date'),
    ('metric', 'varchar'), ('is_rate', 'boolean'), ('before_value', 'double precision'),
    ('after_value', 'double precision'), ('abs_change', 'double precision'), ('pct_change', 'double precision'),
    ('before_successes', 'bigint'), ('before_trials', 'bigint'), ('after_successes', 'bigint'),
    ('after_trials', 'bigint'), ('is_significant', 'boolean'), ('is_before_window_complete', 'boolean'),
    ('is_after_window_complete', 'boolean'), ('description', 'varchar'), ('expected_metric', 'varchar'),
    ('expected_direction', 'varchar'), ('observed_direction', 'varchar'), ('is_as_expected', 'boolean'),
    ('status', 'varchar'),
] -%}
{%- set measured_relations = {'judged_rows': columns | map(attribute=0) | list} -%}
{%- if is_incremental() -%}
    {#- a row without metric per event gone from interventions.csv (see final) -#}
    {%- do measured_relations.update({'gone_interventions': ['intervention_id']}) -%}
{%- endif %}
{% set sla_seconds = var('response_sla_minutes') * 60 %}
{% set metrics = [
    'new_dialogs', 'won_deals', 'conversion_rate', 'messages_per_dialog',
    'response_time_median_s', 'business_response_time_median_s', 'sla_share',
] %}

with

interventions as (

    select * from {{ ref('stg_directory__interventions') }}

),

data_span as (

    select
        min({{ period_start('day', 'sent_at') }}) as first_data_date,
        max({{ period_start('day', 'sent_at') }}) as last_data_date
    from {{ ref('fct_messages') }}

),

-- each event's windows, and whether the loaded data covers them
intervention_windows as (

    select
        interventions.intervention_id,
        interventions.event_date,
        interventions.manager_id,
        interventions.kind,
        interventions.title,
        interventions.description,
        interventions.expected_metric,
        interventions.expected_direction,
        interventions.event_date - {{ window_days }} as before_window_start,
        interventions.event_date + {{ window_days - 1 }} as after_window_end,
        coalesce(data_span.first_data_date <= interventions.event_date - {{ window_days }}, false)
            as is_before_window_complete,
        coalesce(data_span.last_data_date >= interventions.event_date + {{ window_days - 1 }}, false)
            as is_after_window_complete
    from interventions
    cross join data_span

),

{% if is_incremental() %}

    stored as (

    -- what this mart measured last time: each event as interventions.csv had it, the window
    -- length and whether the windows were complete
        select distinct
            intervention_id,
            event_date,
            manager_id,
            kind,
            title,
            {% if not columns_missing %}
                {% for column in hypothesis_columns %}
                    {{ column }},
                {% endfor %}
            {% endif %}
            window_days,
            is_before_window_complete,
            is_after_window_complete
        from {{ this }}

    ),

    mart_manager_metrics as (

        select * from {{ ref('mart_manager_metrics') }}

    ),

    inputs as (

        {{ intervention_inputs('mart_manager_metrics', 'interventions') }}

    ),

    {% if inputs_kept is not none %}

        inputs_kept as (

            select kept.* from {{ inputs_kept }} as kept

        ),

        changed_days as (

        -- the window days whose facts differ from those measured last time (or new or gone)
            select
                coalesce(inputs.manager_id, inputs_kept.manager_id) as manager_id,
                coalesce(inputs.period_start, inputs_kept.period_start) as period_start
            from inputs
            full outer join inputs_kept
                on
                    inputs.manager_id = inputs_kept.manager_id
                    and inputs.period_start = inputs_kept.period_start
            where
                inputs.period_start is null
                or inputs_kept.period_start is null
                {% for column in intervention_input_columns() %}
                    or inputs.{{ column }} is distinct from inputs_kept.{{ column }}
                {% endfor %}

        ),

    {% endif %}

    recomputed_interventions as (

    -- events new, edited or gone in interventions.csv, measured with another window length, or
    -- whose windows became complete
        select coalesce(intervention_windows.intervention_id, stored.intervention_id) as intervention_id
        from intervention_windows
        full outer join stored
            on intervention_windows.intervention_id = stored.intervention_id
        where
            intervention_windows.intervention_id is null
            or stored.intervention_id is null
            or intervention_windows.event_date is distinct from stored.event_date
            or intervention_windows.manager_id is distinct from stored.manager_id
            or intervention_windows.kind is distinct from stored.kind
            or intervention_windows.title is distinct from stored.title
            {% if not columns_missing %}
                {% for column in hypothesis_columns %}
                    or intervention_windows.{{ column }} is distinct from stored.{{ column }}
                {% endfor %}
            {% endif %}
            or stored.window_days is distinct from {{ window_days }}
            or intervention_windows.is_before_window_complete is distinct from stored.is_before_window_complete
            or intervention_windows.is_after_window_complete is distinct from stored.is_after_window_complete

        union

        -- events with a window holding a changed day (no inputs kept: every event)
        select intervention_windows.intervention_id
        from intervention_windows
        {% if inputs_kept is not none %}
            inner join changed_days
                on
                    intervention_windows.manager_id = changed_days.manager_id
                    and intervention_windows.before_window_start <= changed_days.period_start
                    and intervention_windows.after_window_end >= changed_days.period_start
        {% endif %}

    ),

{% endif %}

-- the events measured: every one, or those an incremental run recomputes
measured as (

    select intervention_windows.*
    from intervention_windows
    {% if is_incremental() %}
        inner join recomputed_interventions
            on intervention_windows.intervention_id = recomputed_interventions.intervention_id
    {% endif %}

),

{% if is_incremental() %}

    read_span as (

    -- incremental runs read only the facts of the days the measured windows cover
        select
            {{ from_reporting_time('cast(min(before_window_start) as timestamp)') }} as rows_from,
            {{ from_reporting_time('cast(max(after_window_end) + 1 as timestamp)') }} as rows_until
        from measured

    ),

{% endif %}

{% for relation, timestamp_column in [
    ('fct_dialogs', 'started_at'), ('fct_messages', 'sent_at'), ('fct_waits', 'started_at'), ('fct_deals', 'closed_at'),
] %}
    {{ relation }} as (

        select facts.*
        from {{ ref(relation) }} as facts
        {% if is_incremental() %}
            -- a join, not scalar subqueries: Spark's executors failed to deserialize those plans
            inner join read_span
                on
                    facts.{{ timestamp_column }} >= read_span.rows_from
                    and facts.{{ timestamp_column }} < read_span.rows_until
        {% endif %}

    ),

{% endfor %}

-- local days: before = [event_date - N, event_date), after = [event_date, event_date + N)
windows as (

    select
        intervention_id,
        manager_id,
        'before' as window_name,
        before_window_start as window_start,
        event_date as window_end
    from measured

    union all

    select
        intervention_id,
        manager_id,
        'after' as window_name,
        event_date as window_start,
        after_window_end + 1 as window_end
    from measured

),

-- the fact rows a window can hold, each on its local day and credited manager
activity as (

    select
        'dialog' as activity_kind,
        owner_manager_id as manager_id,
        {{ period_start('day', 'started_at') }} as activity_date,
        cast(null as {{ sql_type('text') }}) as dialog_id,
        cast(null as {{ sql_type('double precision') }}) as response_time_s,
        cast(null as {{ sql_type('double precision') }}) as business_response_time_s
    from fct_dialogs

    union all

    select
        'manager_message' as activity_kind,
        manager_id,
        {{ period_start('day', 'sent_at') }} as activity_date,
        dialog_id,
        cast(null as {{ sql_type('double precision') }}) as response_time_s,
        cast(null as {{ sql_type('double precision') }}) as business_response_time_s
    from fct_messages
    where sender_kind = 'manager'

    union all

    select
        'answered_wait' as activity_kind,
        credited_manager_id as manager_id,
        {{ period_start('day', 'started_at') }} as activity_date,
        cast(null as {{ sql_type('text') }}) as dialog_id,
        cast(response_time_s as {{ sql_type('double precision') }}) as response_time_s,
        cast(business_response_time_s as {{ sql_type('double precision') }}) as business_response_time_s
    from fct_waits
    where status = 'answered'

    union all

    select
        'won_deal' as activity_kind,
        manager_id,
        {{ period_start('day', 'closed_at') }} as activity_date,
        cast(null as {{ sql_type('text') }}) as dialog_id,
        cast(null as {{ sql_type('double precision') }}) as response_time_s,
        cast(null as {{ sql_type('double precision') }}) as business_response_time_s
    from fct_deals
    where is_won and closed_at is not null

),

window_totals as (

    select
        windows.intervention_id,
        windows.window_name,
        count(case when activity.activity_kind = 'dialog' then 1 end) as new_dialogs,
        count(case when activity.activity_kind = 'won_deal' then 1 end) as won_deals,
        count(case when activity.activity_kind = 'manager_message' then 1 end) as messages_sent,
        count(distinct case when activity.activity_kind = 'manager_message' then activity.dialog_id end)
            as dialogs_participated,
        count(case when activity.activity_kind = 'answered_wait' then 1 end) as waits_answered,
        count(case when activity.business_response_time_s <= {{ sla_seconds }} then 1 end)
            as waits_answered_within_sla,
        {{ percentile('activity.response_time_s', 0.5) }} as response_time_median_s,
        {{ percentile('activity.business_response_time_s', 0.5) }} as business_response_time_median_s
    from windows
    left join activity
        on
            (windows.manager_id = 'all' or windows.manager_id = activity.manager_id)
            and windows.window_start <= activity.activity_date
            and windows.window_end > activity.activity_date
    group by windows.intervention_id, windows.window_name

),

window_metrics as (

    -- the windows' counts, not rounded rates: the ratios are computed from them
    {{ metric_unpivot('window_totals', metrics, ['intervention_id', 'window_name'], from_counts=true) }}

),

compared as (

    select
        measured.intervention_id,
        measured.event_date,
        measured.manager_id,
        measured.kind,
        measured.title,
        measured.description,
        measured.expected_metric,
        measured.expected_direction,
        measured.before_window_start,
        measured.after_window_end,
        before_window.metric,
        before_window.is_rate,
        before_window.metric_value as before_value,
        after_window.metric_value as after_value,
        before_window.successes as before_successes,
        before_window.trials as before_trials,
        after_window.successes as after_successes,
        after_window.trials as after_trials,
        {{ is_significant_change(
            'before_window.successes', 'before_window.trials',
            'after_window.successes', 'after_window.trials'
        ) }} as is_significant,
        measured.is_before_window_complete,
        measured.is_after_window_complete
    from measured
    inner join window_metrics as before_window
        on
            measured.intervention_id = before_window.intervention_id
            and before_window.window_name = 'before'
    inner join window_metrics as after_window
        on
            before_window.intervention_id = after_window.intervention_id
            and before_window.metric = after_window.metric
            and after_window.window_name = 'after'

),

measured_rows as (

    select
        intervention_id,
        event_date,
        manager_id,
        kind,
        title,
        {{ window_days }} as window_days,
        before_window_start,
        after_window_end,
        metric,
        is_rate,
        {{ round_float('before_value') }} as before_value,
        {{ round_float('after_value') }} as after_value,
        {{ round_float('after_value - before_value') }} as abs_change,
        {{ round_float(relative_change('after_value', 'before_value'), digits=4) }} as pct_change,
        before_successes,
        before_trials,
        after_successes,
        after_trials,
        is_significant,
        is_before_window_complete,
        is_after_window_complete,
        description,
        expected_metric,
        expected_direction,
        {{ intervention_observed_direction('after_value', 'before_value') }} as observed_direction,
        {{ intervention_status(
            'before_value', 'after_value', 'is_before_window_complete', 'is_after_window_complete'
        ) }} as status
    from compared

),

judged_rows as (

    select
        measured_rows.*,
        {{ intervention_is_as_expected(
            'metric', 'expected_metric', 'status', 'observed_direction', 'expected_direction'
        ) }} as is_as_expected
    from measured_rows

),

{% if is_incremental() %}

    gone_interventions as (

        select recomputed_interventions.intervention_id
        from recomputed_interventions
        where not exists (
            select interventions.intervention_id
            from interventions
            where interventions.intervention_id = recomputed_interventions.intervention_id
        )

    ),

{% endif %}

final as (

    -- the measured events' rows, and one row without metric per event gone from the file, so
    -- delete+insert clears its rows; the post-hook deletes those rows
    {{ union_by_columns(columns, measured_relations) }}

)

select * from final
