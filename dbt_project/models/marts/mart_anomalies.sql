{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    post_hook=delete_rows_hooks('kind is null') + keep_inputs_hooks(
        "anomaly_inputs(ref('mart_manager_metrics'), ref('mart_message_norms'), ref('int_response_time_tests'))"
    ),
    **replaced_by(['grain', 'period_start'])
) }}
{#- an incremental run compares the inputs with those it judged from last time (none kept, or a
    table from before judged_by or the run columns: judge all) -#}
{%- set columns_missing = stored_columns_missing(
    ['judged_by', 'standing_since', 'is_new', 'severity']
) if is_incremental() else [] -%}
{%- set compared = anomaly_input_columns() + anomaly_norm_columns() + anomaly_test_columns() -%}
{%- set inputs_kept = kept_inputs(compared) if is_incremental() and not columns_missing else none -%}
{%- set z = var('anomaly_z', 2) | float -%}
{%- set trailing_periods = [var('anomaly_trailing_periods', 3) | int, 1] | max -%}
{%- set load_threshold = var('load_change_threshold', 0.3) -%}
{#- the two-period rule's one-sided U-test z, stricter for finer grains (more comparisons a year):
    about one false alarm per manager in four years at each grain (p 0.001 x ~250 working days,
    0.005 x 52 weeks, 0.025 x 12 months) -#}
{%- set u_test_z = {'day': 3.09, 'week': 2.58, 'month': 1.96} -%}
{#- noise control: the answered waits a period (and, two-period rule, the one before) needs -#}
{%- set min_waits = {'day': 20, 'week': 30, 'month': 8} -%}
{%- set response_metric = 'response_time_median_s' -%}
{%- set team_factor = 2 -%}
{%- set mad_floor_share = 0.1 -%}
{%- set mad_floor_per_root_wait = 1.5 -%}
{%- set min_expected_count = 5 -%}
{#- the two-period rule also needs a material rise, the smallest the MAD rule can flag (z times
    its MAD floor of 10% of the baseline, about +30%): a large sample makes a trifle significant -#}
{%- set min_rise = z * 1.4826 * mad_floor_share -%}
{%- set median_ranks = [(trailing_periods + 1) // 2, trailing_periods // 2 + 1] | unique | join(', ') -%}
{%- set period_key = 'manager_id, grain, period_start' -%}
{#- every anomaly kind's columns, then the kind-specific ones (null for other kinds) -#}
{%- set anomaly_columns = [
    'manager_id', 'grain', 'period_start', 'metric', 'value', 'expected_low', 'expected_high', 'kind', 'judged_by',
    'preceding_period_start',
] -%}
{%- set flagged_columns = [
    ('manager_id', 'varchar'), ('grain', 'varchar'), ('period_start', 'date'), ('metric', 'varchar'),
    ('value', 'double precision'), ('expected_low', 'double precision'), ('expected_high', 'double precision'),
    ('kind', 'varchar'), ('judged_by', 'varchar'), ('preceding_period_start', 'date'),
    ('baseline_value', 'double precision'), ('team_value', 'double precision'),
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

mart_message_norms as (

    select * from {{ ref('mart_message_norms') }}

),

int_response_time_tests as (

    select * from {{ ref('int_response_time_tests') }}

),

{% if inputs_kept is not none %}

    inputs_kept as (

        select kept.* from {{ inputs_kept }} as kept

    ),

{% endif %}

-- the rows judged, and the first and last day with data that bound the periods judged
inputs as (

    {{ anomaly_inputs('mart_manager_metrics', 'mart_message_norms', 'int_response_time_tests') }}

),

periods as (

    select
        manager_id,
        grain,
        period_start,
        case
            when grain = 'day' then period_start
            when grain = 'week' then {{ shift_period('period_start', 'week', 1) }} - 1
            else {{ shift_period('period_start', 'month', 1) }} - 1
        end as period_end,
        -- the period judged against (days: the previous working day, int_response_time_tests)
        case
            when grain = 'day' then test_previous_period_start
            when grain = 'week' then {{ shift_period('period_start', 'week', -1) }}
            else {{ shift_period('period_start', 'month', -1) }}
        end as preceding_period_start,
        new_dialogs,
        messages_received,
        messages_per_dialog,
        {{ response_metric }} as response_time_s,
        waits_answered,
        won_deals,
        conversion_rate,
        norm_low,
        norm_high,
        norm_rule,
        manager_first_day,
        test_previous_waits_answered,
        u_test_z,
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
                {% for column in anomaly_input_columns() + anomaly_norm_columns() + anomaly_test_columns() %}
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

    -- the first changed day, week and month
        select
            min(case when grain = 'day' then period_start end) as day_from,
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
            changed_from.day_from,
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
                when periods.grain = 'day' then changes.day_from
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
            lag(waits_answered, {{ k }}) over earlier_periods as waits_answered_{{ k }},
        {% endfor %}
        lag(period_start) over earlier_periods as previous_period_start,
        lag(won_deals) over earlier_periods as previous_won_deals,
        lag(new_dialogs) over earlier_periods as previous_new_dialogs,
        lag(conversion_rate) over earlier_periods as previous_conversion_rate
    from complete_periods
    window earlier_periods as (partition by manager_id, grain order by period_start)

),

-- messages per dialog: outside the normal range (mart_message_norms)

message_anomalies as (

    select
        manager_id,
        grain,
        period_start,
        'messages_per_dialog' as metric,
        messages_per_dialog as value, -- noqa: RF04
        norm_low as expected_low,
        norm_high as expected_high,
        case
            when messages_per_dialog < norm_low then 'too_few_messages'
            else 'too_many_messages'
        end as kind,
        norm_rule as judged_by,
        preceding_period_start
    from complete_periods
    where
        manager_id <> 'all'
        and grain in ('week', 'month')
        and (messages_per_dialog < norm_low or messages_per_dialog > norm_high)

),

-- response time: the manager's trailing periods and the team

response_periods as (

    select
        *,
        grain <> 'day' and coalesce(
            {% for k in range(1, trailing_periods + 1) %}
                response_time_s_{{ k }} is not null
                and period_start_{{ k }} = case
                    when grain = 'week' then {{ shift_period('period_start', 'week', -k) }}
                    else {{ shift_period('period_start', 'month', -k) }}
                end
                {% if not loop.last %}and{% endif %}
            {% endfor %},
            false
        ) as has_trailing_periods,
        -- noise control: enough answered waits for a median (and a test) to mean something
        waits_answered >= case grain
            {% for grain, count in min_waits.items() %}
                when '{{ grain }}' then {{ count }}
            {% endfor %}
        end as has_min_waits
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
            messages_received_{{ k }} as trailing_messages_received,
            waits_answered_{{ k }} as trailing_waits_answered
        from response_periods
        where has_trailing_periods and has_min_waits
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
        {{ percentile('trailing_messages_received', 0.5) }} as baseline_messages_received,
        {{ percentile('trailing_waits_answered', 0.5) }} as baseline_waits_answered
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
        {{ mad_as_sigma(
            'greatest(mad, baseline_response_time_s * greatest('
            ~ mad_floor_share ~ ', ' ~ mad_floor_per_root_wait ~ ' / sqrt(nullif(waits_answered, 0))))'
        ) }} as scaled_mad,
        1.0 * new_dialogs / nullif(baseline_new_dialogs, 0) - 1 as dialog_change,
        1.0 * messages_received / nullif(baseline_messages_received, 0) - 1 as message_change,
        1.0 * waits_answered / nullif(baseline_waits_answered, 0) - 1 as wait_change
    from baselines

    union all

    select
        {{ period_key }},
        response_time_s as value, -- noqa: RF04
        team_response_time_s as team_value,
        cast(null as {{ sql_type('double precision') }}) as baseline_value,
        cast(null as {{ sql_type('double precision') }}) as scaled_mad,
        cast(null as {{ sql_type('double precision') }}) as dialog_change,
        cast(null as {{ sql_type('double precision') }}) as message_change,
        cast(null as {{ sql_type('double precision') }}) as wait_change
    from response_periods
    where not has_trailing_periods and has_min_waits and grain <> 'day'

),

response_readings as (

    select
        *,
        (value - baseline_value) / nullif(scaled_mad, 0) as z_score,
        (value - baseline_value) / nullif(scaled_mad, 0) > {{ z }} as is_above_trend,
        value > {{ team_factor }} * team_value as is_above_team,
        -- weeks: the waits the median is taken of (see the model's description); months: new
        -- dialogs or client messages, the larger change
        case
            when grain = 'week' then 'waits'
            when coalesce(message_change, dialog_change) > coalesce(dialog_change, message_change)
                then 'messages'
            else 'dialogs'
        end as load_driver,
        case
            when grain = 'week' then wait_change
            else greatest(dialog_change, message_change)
        end as load_change
    from response_scores

),

-- the two-period rule: the period's waits against the previous period's (U test), while the
-- manager lacks the trailing periods the MAD rule needs; at day grain always
two_period_readings as (

    select
        this_period.manager_id,
        this_period.grain,
        this_period.period_start,
        this_period.preceding_period_start,
        this_period.response_time_s as value, -- noqa: RF04
        this_period.team_response_time_s as team_value,
        previous_period.response_time_s as baseline_value,
        this_period.u_test_z as z_score,
        1.0 * this_period.waits_answered / this_period.test_previous_waits_answered - 1 as load_change
    from response_periods as this_period
    inner join complete_periods as previous_period
        on
            this_period.manager_id = previous_period.manager_id
            and this_period.grain = previous_period.grain
            and this_period.preceding_period_start = previous_period.period_start
    where
        not this_period.has_trailing_periods
        and this_period.has_min_waits
        and this_period.test_previous_waits_answered >= case this_period.grain
            {% for grain, count in min_waits.items() %}
                when '{{ grain }}' then {{ count }}
            {% endfor %}
        end
        and this_period.u_test_z >= case this_period.grain
            {% for grain, threshold in u_test_z.items() %}
                when '{{ grain }}' then {{ threshold }}
            {% endfor %}
        end
        and this_period.response_time_s >= (1 + {{ min_rise }}) * previous_period.response_time_s
        -- a manager who started mid-period has a partial first period: no baseline
        and (
            this_period.manager_first_day is null
            or this_period.preceding_period_start >= this_period.manager_first_day
        )

),

response_anomalies as (

    select
        manager_id,
        grain,
        period_start,
        case
            when grain = 'week' then {{ shift_period('period_start', 'week', -1) }}
            else {{ shift_period('period_start', 'month', -1) }}
        end as preceding_period_start,
        '{{ response_metric }}' as metric,
        value,
        cast(0 as {{ sql_type('double precision') }}) as expected_low,
        {{ round_float('baseline_value + ' ~ z ~ ' * scaled_mad') }} as expected_high,
        case when load_change >= {{ load_threshold }} then 'overload' else 'slowdown' end as kind,
        'own_trailing_median_mad' as judged_by,
        {{ round_float('baseline_value') }} as baseline_value,
        team_value,
        {{ round_float('load_change') }} as load_change,
        load_driver,
        {{ round_float('z_score', digits=2) }} as z_score
    from response_readings
    where is_above_trend

    union all

    select
        manager_id,
        grain,
        period_start,
        preceding_period_start,
        '{{ response_metric }}' as metric,
        value,
        cast(0 as {{ sql_type('double precision') }}) as expected_low,
        baseline_value as expected_high,
        case when load_change >= {{ load_threshold }} then 'overload' else 'slowdown' end as kind,
        'previous_period_u_test' as judged_by,
        baseline_value,
        team_value,
        {{ round_float('load_change') }} as load_change,
        'waits' as load_driver,
        {{ round_float('z_score', digits=2) }} as z_score
    from two_period_readings

    union all

    select
        response_readings.manager_id,
        response_readings.grain,
        response_readings.period_start,
        case
            when response_readings.grain = 'week' then {{ shift_period('response_readings.period_start', 'week', -1) }}
            else {{ shift_period('response_readings.period_start', 'month', -1) }}
        end as preceding_period_start,
        '{{ response_metric }}' as metric,
        response_readings.value,
        cast(0 as {{ sql_type('double precision') }}) as expected_low,
        {{ round_float(team_factor ~ ' * response_readings.team_value') }} as expected_high,
        'slow_response' as kind,
        'twice_team_median' as judged_by,
        {{ round_float('response_readings.baseline_value') }} as baseline_value,
        response_readings.team_value,
        cast(null as {{ sql_type('double precision') }}) as load_change,
        response_readings.load_driver,
        {{ round_float('response_readings.z_score', digits=2) }} as z_score
    from response_readings
    where
        response_readings.is_above_team
        and not coalesce(response_readings.is_above_trend, false)
        and not exists (
            select two_period_readings.manager_id
            from two_period_readings
            where
                two_period_readings.manager_id = response_readings.manager_id
                and two_period_readings.grain = response_readings.grain
                and two_period_readings.period_start = response_readings.period_start
        )

),

-- conversion: a significant drop against the previous period

conversion_pairs as (

    select
        {{ period_key }},
        preceding_period_start,
        conversion_rate,
        won_deals,
        new_dialogs,
        previous_conversion_rate,
        previous_won_deals,
        previous_new_dialogs,
        {{ pooled_proportion(
            'won_deals', 'new_dialogs', 'previous_won_deals', 'previous_new_dialogs'
        ) }} as pooled_rate
    from period_series
    where
        grain in ('week', 'month')
        and conversion_rate < previous_conversion_rate
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
        'two_proportion_test' as judged_by,
        preceding_period_start,
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

-- runs: a row continues its manager's run when the period before (for days, the previous
-- working day) had the same kind for the same metric; earlier periods only, so an
-- incremental run and a full refresh agree
run_starts as (

    select
        *,
        coalesce(
            lag(kind) over same_series = kind
            and lag(period_start) over same_series = preceding_period_start,
            false
        ) as continues_run
    from flagged
    window same_series as (partition by manager_id, grain, metric order by period_start)

),

run_numbers as (

    select
        *,
        sum(case when continues_run then 0 else 1 end) over (
            partition by manager_id, grain, metric
            order by period_start
            rows between unbounded preceding and current row
        ) as run_number
    from run_starts

),

runs as (

    select
        *,
        min(period_start) over (partition by manager_id, grain, metric, run_number) as standing_since
    from run_numbers

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
        z_score,
        judged_by,
        standing_since,
        not continues_run as is_new,
        -- doc block metric_anomaly_severity: how many times past its reference
        {{ round_float(
            "case kind"
            ~ " when 'too_many_messages' then value / nullif(expected_high, 0)"
            ~ " when 'too_few_messages' then expected_low / nullif(value, 0)"
            ~ " when 'slow_response' then value / nullif(team_value, 0)"
            ~ " when 'conversion_drop' then baseline_value / nullif(value, 0)"
            ~ " else value / nullif(baseline_value, 0) end",
            digits=2
        ) }} as severity
    from runs
    {% if is_incremental() %}
        -- the recomputed periods' anomalies, and one row without kind per recomputed period,
        -- so delete+insert clears it; the post-hook deletes those rows
        where exists (
            select recomputed_periods.grain
            from recomputed_periods
            where
                recomputed_periods.grain = runs.grain
                and recomputed_periods.period_start = runs.period_start
        )
    {% endif %}

)

select * from final
