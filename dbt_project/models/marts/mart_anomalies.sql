{{ config(
    materialized='incremental',
    unique_key=['grain', 'period_start'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook=[
        "delete from {{ this }} where kind is null",
        "{{ keep_inputs(anomaly_inputs(ref('mart_manager_metrics'))) }}",
    ],
) }}
{#- an incremental run compares the inputs with those it judged from last time (none kept: judge all) -#}
{%- set inputs_kept = kept_inputs() if is_incremental() else none -%}
{%- set z = var('anomaly_z', 2) -%}
{%- set trailing_periods = [var('anomaly_trailing_periods', 3) | int, 1] | max -%}
{%- set load_threshold = var('load_change_threshold', 0.3) -%}
{%- set fixed_range = var('messages_per_dialog_range', none) -%}
{%- set window_months = var('anomaly_team_window_months', 6) | int -%}
{%- set response_metric = 'response_time_median_s' -%}
{%- set team_factor = 2 -%}
{%- set mad_scale = 1.4826 -%}
{%- set mad_floor_share = 0.1 -%}
{%- set mad_floor_per_root_wait = 1.5 -%}
{%- set min_range_values = 5 -%}
{%- set min_expected_count = 5 -%}
{%- set median_ranks = [(trailing_periods + 1) // 2, trailing_periods // 2 + 1] | unique | join(', ') -%}
{%- set period_key = 'manager_id, grain, period_start' -%}
{%- set range_month = "cast(date_trunc('month', cast(period_start as timestamp)) as date)" -%}
{#- every anomaly kind's columns, then the kind-specific ones (null for other kinds) -#}
{%- set anomaly_columns = [
    'manager_id', 'grain', 'period_start', 'metric', 'value', 'expected_low', 'expected_high', 'kind',
] -%}
{%- set flagged_columns = [
    ('manager_id', 'varchar'), ('grain', 'varchar'), ('period_start', 'date'), ('metric', 'varchar'),
    ('value', 'double precision'), ('expected_low', 'double precision'), ('expected_high', 'double precision'),
    ('kind', 'varchar'), ('baseline_value', 'double precision'), ('team_value', 'double precision'),
    ('load_change', 'double precision'), ('load_driver', 'varchar'), ('z_score', 'double precision'),
    ('won_deals', 'bigint'), ('new_dialogs', 'bigint'),
    ('previous_won_deals', 'bigint'), ('previous_new_dialogs', 'bigint'),
] -%}
{%- set flagged_relations = {
    'message_anomalies': anomaly_columns,
    'response_anomalies': anomaly_columns + [
        'baseline_value', 'team_value', 'load_change', 'load_driver', 'z_score',
    ],
    'conversion_anomalies': anomaly_columns + [
        'baseline_value', 'z_score', 'won_deals', 'new_dialogs', 'previous_won_deals', 'previous_new_dialogs',
    ],
} -%}
{%- if is_incremental() -%}
    {#- a row without kind per recomputed period (see final) -#}
    {%- do flagged_relations.update({'recomputed_periods': ['grain', 'period_start']}) -%}
{%- endif %}

with

mart_manager_metrics as (

    select * from {{ ref('mart_manager_metrics') }}

),

{% if inputs_kept is not none %}

    inputs_kept as (

        select kept.* from {{ inputs_kept }} as kept

    ),

{% endif %}

-- the rows judged, and the first and last day with data that bound the periods judged
inputs as (

    {{ anomaly_inputs('mart_manager_metrics') }}

),

periods as (

    select
        manager_id,
        grain,
        period_start,
        case
            when grain = 'week' then {{ shift_period('period_start', 'week', 1) }}
            else {{ shift_period('period_start', 'month', 1) }}
        end - 1 as period_end,
        new_dialogs,
        messages_received,
        messages_per_dialog,
        {{ response_metric }} as response_time_s,
        waits_answered,
        won_deals,
        conversion_rate,
        first_data_day,
        last_data_day
    from inputs

),

{% if is_incremental() %}

    changed_inputs as (

    -- the periods whose inputs differ from those judged last time (or that are new or gone)
        {% if inputs_kept is not none %}
            select
                coalesce(inputs.grain, inputs_kept.grain) as grain,
                coalesce(inputs.period_start, inputs_kept.period_start) as period_start
            from inputs
            full outer join inputs_kept
                on
                    inputs.manager_id = inputs_kept.manager_id
                    and inputs.grain = inputs_kept.grain
                    and inputs.period_start = inputs_kept.period_start
            where
                {% for column in anomaly_input_columns() %}
                    inputs.{{ column }} is distinct from inputs_kept.{{ column }}
                    {% if not loop.last %}or{% endif %}
                {% endfor %}
        {% else %}
            select
                grain,
                period_start
            from inputs
        {% endif %}

    ),

    changed_from as (

    -- the first changed week and month
        select
            min(case when grain = 'week' then period_start end) as week_from,
            min(case when grain = 'month' then period_start end) as month_from
        from changed_inputs

    ),

    days_before as (

    -- the first and last day with data when the kept inputs were judged
        {% if inputs_kept is not none %}
            select
                max(first_data_day) as first_day_before,
                max(last_data_day) as last_day_before
            from inputs_kept
        {% else %}
            select
                cast(null as date) as first_day_before,
                cast(null as date) as last_day_before
        {% endif %}

    ),

    days_now as (

        select
            max(first_data_day) as first_day_now,
            max(last_data_day) as last_day_now
        from inputs

    ),

    changes as (

    -- the first changed week and month; whether the first or the last day with data moved
        select
            changed_from.week_from,
            changed_from.month_from,
            days_before.first_day_before,
            days_before.last_day_before,
            days_now.first_day_now,
            days_now.last_day_now
        from changed_from
        cross join days_before
        cross join days_now

    ),

    recomputed_periods as (

    -- every period from the first changed one on, at each grain: a period's trailing window,
    -- previous period and team range only look back. Weeks are judged against the range of
    -- the month they start in, so a changed month redoes the weeks from its first day on. A
    -- moved first day with data changes which periods are complete: all are redone; a moved
    -- last day, those ending on or after the earlier of the two last days.
        select
            periods.grain,
            periods.period_start
        from periods
        cross join changes
        where
            changes.first_day_before is distinct from changes.first_day_now
            or (
                changes.last_day_before is distinct from changes.last_day_now
                and periods.period_end >= least(changes.last_day_before, changes.last_day_now)
            )
            or periods.period_start >= case
                when periods.grain = 'week'
                    then least(
                        coalesce(changes.week_from, changes.month_from),
                        coalesce(changes.month_from, changes.week_from)
                    )
                else changes.month_from
            end

        union

        -- periods gone from mart_manager_metrics: their old anomalies are deleted
        select
            grain,
            period_start
        from changed_inputs

    ),

{% endif %}

-- only periods inside the days with data are judged or serve as a baseline
complete_periods as (

    select * from periods
    where period_start >= first_data_day and period_end <= last_data_day

),

-- window functions instead of self-joins: the earlier periods of the same manager and grain
period_series as (

    select
        *,
        max(case when manager_id = 'all' then response_time_s end)
            over (partition by grain, period_start) as team_response_time_s,
        {% for k in range(1, trailing_periods + 1) %}
            lag(period_start, {{ k }}) over earlier_periods as period_start_{{ k }},
            lag(response_time_s, {{ k }}) over earlier_periods as response_time_s_{{ k }},
            lag(new_dialogs, {{ k }}) over earlier_periods as new_dialogs_{{ k }},
            lag(messages_received, {{ k }}) over earlier_periods as messages_received_{{ k }},
        {% endfor %}
        lag(period_start) over earlier_periods as previous_period_start,
        lag(won_deals) over earlier_periods as previous_won_deals,
        lag(new_dialogs) over earlier_periods as previous_new_dialogs,
        lag(conversion_rate) over earlier_periods as previous_conversion_rate
    from complete_periods
    window earlier_periods as (partition by manager_id, grain order by period_start)

),

-- messages per dialog: the normal range

month_values as (

    select
        manager_id,
        period_start,
        messages_per_dialog
    from periods
    where
        grain = 'month'
        and manager_id <> 'all'
        and messages_per_dialog is not null

),

judged_months as (

    select
        manager_id,
        grain,
        period_start,
        messages_per_dialog,
        {{ range_month }} as range_month,
        {{ shift_period(range_month, 'month', -window_months) }} as range_month_before
    from complete_periods
    where manager_id <> 'all' and messages_per_dialog is not null

),

-- leave-one-out: the other managers' months in the window ending with the period's month
team_ranges as (

    select
        judged_months.manager_id,
        judged_months.grain,
        judged_months.period_start,
        judged_months.messages_per_dialog,
        count(colleagues.manager_id) as range_values,
        {{ percentile('colleagues.messages_per_dialog', 0.1) }} as team_low,
        {{ percentile('colleagues.messages_per_dialog', 0.9) }} as team_high
    from judged_months
    left join month_values as colleagues
        on
            judged_months.manager_id <> colleagues.manager_id
            and judged_months.range_month >= colleagues.period_start
            and judged_months.range_month_before < colleagues.period_start
    group by
        judged_months.manager_id,
        judged_months.grain,
        judged_months.period_start,
        judged_months.messages_per_dialog

),

message_ranges as (

    select
        *,
        {% if fixed_range is sequence and fixed_range is not string %}
            cast({{ fixed_range[0] }} as double precision) as range_low,
            cast({{ fixed_range[1] }} as double precision) as range_high
        {% else %}
            case when range_values >= {{ min_range_values }} then team_low end as range_low,
            case when range_values >= {{ min_range_values }} then team_high end as range_high
        {% endif %}
    from team_ranges

),

message_anomalies as (

    select
        manager_id,
        grain,
        period_start,
        'messages_per_dialog' as metric,
        messages_per_dialog as value, -- noqa: RF04
        {{ round_float('range_low') }} as expected_low,
        {{ round_float('range_high') }} as expected_high,
        case
            when messages_per_dialog < range_low then 'too_few_messages'
            else 'too_many_messages'
        end as kind
    from message_ranges
    where messages_per_dialog < range_low or messages_per_dialog > range_high

),

-- response time: the manager's trailing periods and the team

response_periods as (

    select
        *,
        coalesce(
            {% for k in range(1, trailing_periods + 1) %}
                response_time_s_{{ k }} is not null
                and period_start_{{ k }} = case
                    when grain = 'week' then {{ shift_period('period_start', 'week', -k) }}
                    else {{ shift_period('period_start', 'month', -k) }}
                end
                {% if not loop.last %}and{% endif %}
            {% endfor %},
            false
        ) as has_trailing_periods
    from period_series
    where manager_id <> 'all' and response_time_s is not null

),

trailing_values as (

    {% for k in range(1, trailing_periods + 1) %}
        select
            {{ period_key }},
            response_time_s,
            waits_answered,
            new_dialogs,
            messages_received,
            team_response_time_s,
            response_time_s_{{ k }} as trailing_response_time_s,
            new_dialogs_{{ k }} as trailing_new_dialogs,
            messages_received_{{ k }} as trailing_messages_received
        from response_periods
        where has_trailing_periods
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

-- medians from ranks: percentile_cont is no window function on PostgreSQL
trailing_ranks as (

    select
        *,
        row_number() over (partition by {{ period_key }} order by trailing_response_time_s) as response_rank
    from trailing_values

),

trailing_medians as (

    select
        *,
        avg(case when response_rank in ({{ median_ranks }}) then trailing_response_time_s end)
            over (partition by {{ period_key }}) as baseline_response_time_s
    from trailing_ranks

),

trailing_deviations as (

    select
        *,
        abs(trailing_response_time_s - baseline_response_time_s) as deviation,
        row_number() over (
            partition by {{ period_key }}
            order by abs(trailing_response_time_s - baseline_response_time_s)
        ) as deviation_rank
    from trailing_medians

),

baselines as (

    select
        {{ period_key }},
        max(response_time_s) as response_time_s,
        max(waits_answered) as waits_answered,
        max(new_dialogs) as new_dialogs,
        max(messages_received) as messages_received,
        max(team_response_time_s) as team_response_time_s,
        max(baseline_response_time_s) as baseline_response_time_s,
        avg(case when deviation_rank in ({{ median_ranks }}) then deviation end) as mad,
        {{ percentile('trailing_new_dialogs', 0.5) }} as baseline_new_dialogs,
        {{ percentile('trailing_messages_received', 0.5) }} as baseline_messages_received
    from trailing_deviations
    group by {{ period_key }}

),

response_scores as (

    select
        {{ period_key }},
        response_time_s as value, -- noqa: RF04
        team_response_time_s as team_value,
        baseline_response_time_s as baseline_value,
        -- the MAD of three periods can be near 0: floored at the chance wobble of a median of
        -- n replies (about 1.5 / sqrt(n) of it), and at least a share of the baseline
        {{ mad_scale }} * greatest(
            mad,
            baseline_response_time_s * greatest(
                {{ mad_floor_share }},
                {{ mad_floor_per_root_wait }} / sqrt(nullif(waits_answered, 0))
            )
        ) as scaled_mad,
        1.0 * new_dialogs / nullif(baseline_new_dialogs, 0) - 1 as dialog_change,
        1.0 * messages_received / nullif(baseline_messages_received, 0) - 1 as message_change
    from baselines

    union all

    select
        {{ period_key }},
        response_time_s as value, -- noqa: RF04
        team_response_time_s as team_value,
        cast(null as double precision) as baseline_value,
        cast(null as double precision) as scaled_mad,
        cast(null as double precision) as dialog_change,
        cast(null as double precision) as message_change
    from response_periods
    where not has_trailing_periods

),

response_readings as (

    select
        *,
        (value - baseline_value) / nullif(scaled_mad, 0) as z_score,
        (value - baseline_value) / nullif(scaled_mad, 0) > {{ z }} as is_above_trend,
        value > {{ team_factor }} * team_value as is_above_team,
        case
            when coalesce(message_change, dialog_change) > coalesce(dialog_change, message_change)
                then 'messages'
            else 'dialogs'
        end as load_driver,
        greatest(dialog_change, message_change) as load_change
    from response_scores

),

response_anomalies as (

    select
        manager_id,
        grain,
        period_start,
        '{{ response_metric }}' as metric,
        value,
        cast(0 as double precision) as expected_low,
        {{ round_float(
            'case when is_above_trend then baseline_value + ' ~ z ~ ' * scaled_mad else '
            ~ team_factor ~ ' * team_value end'
        ) }} as expected_high,
        case
            when is_above_trend and load_change >= {{ load_threshold }} then 'overload'
            when is_above_trend then 'slowdown'
            else 'slow_response'
        end as kind,
        {{ round_float('baseline_value') }} as baseline_value,
        team_value,
        {{ round_float('case when is_above_trend then load_change end') }} as load_change,
        load_driver,
        {{ round_float('z_score', digits=2) }} as z_score
    from response_readings
    where is_above_trend or is_above_team

),

-- conversion: a significant drop against the previous period

conversion_pairs as (

    select
        {{ period_key }},
        conversion_rate,
        won_deals,
        new_dialogs,
        previous_conversion_rate,
        previous_won_deals,
        previous_new_dialogs,
        1.0 * (won_deals + previous_won_deals) / (new_dialogs + previous_new_dialogs) as pooled_rate
    from period_series
    where
        conversion_rate < previous_conversion_rate
        and previous_period_start = case
            when grain = 'week' then {{ shift_period('period_start', 'week', -1) }}
            else {{ shift_period('period_start', 'month', -1) }}
        end

),

-- the z-test stands on its normal approximation only with enough expected wins and losses
conversion_anomalies as (

    select
        {{ period_key }},
        'conversion_rate' as metric,
        conversion_rate as value, -- noqa: RF04
        {{ wilson_low('previous_won_deals', 'previous_new_dialogs') }} as expected_low,
        {{ wilson_high('previous_won_deals', 'previous_new_dialogs') }} as expected_high,
        'conversion_drop' as kind,
        previous_conversion_rate as baseline_value,
        {{ round_float(
            two_proportion_z('won_deals', 'new_dialogs', 'previous_won_deals', 'previous_new_dialogs'), digits=2
        ) }} as z_score,
        won_deals,
        new_dialogs,
        previous_won_deals,
        previous_new_dialogs
    from conversion_pairs
    where
        least(new_dialogs, previous_new_dialogs) * least(pooled_rate, 1 - pooled_rate) >= {{ min_expected_count }}
        and {{ is_significant_change('won_deals', 'new_dialogs', 'previous_won_deals', 'previous_new_dialogs') }}

),

flagged as (

    {{ union_by_columns(flagged_columns, flagged_relations) }}

),

final as (

    select
        {{ period_key }},
        metric,
        value,
        expected_low,
        expected_high,
        kind,
        {{ anomaly_reason('ru') }} as reason_ru,
        {{ anomaly_reason('en') }} as reason_en,
        baseline_value,
        load_change,
        team_value,
        z_score
    from flagged
    {% if is_incremental() %}
        -- the recomputed periods' anomalies, and one row without kind per recomputed period,
        -- so delete+insert clears it; the post-hook deletes those rows
        where exists (
            select recomputed_periods.grain
            from recomputed_periods
            where
                recomputed_periods.grain = flagged.grain
                and recomputed_periods.period_start = flagged.period_start
        )
    {% endif %}

)

select * from final
