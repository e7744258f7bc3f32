{#
    How mart_interventions reads a hypothesis: the direction its metric moved, whether the
    windows hold enough data to say, and whether the move is the one expected. One formula
    per macro; each takes SQL expressions.
#}

{#
    up, down or flat: the after-window value against the before-window value. Flat when the
    change is at most `flat_share` (5% by default) of the before value, in either direction
    (a 0 before and a 0 after is flat; a 0 before and more after is up). Null when either value
    is (the metric is undefined in a window). mart_interventions stores the result: after
    changing the share, rebuild it (`chatsales run --full-refresh`).
#}
{% macro intervention_observed_direction(after_value, before_value, flat_share=0.05) -%}
    case
        when {{ before_value }} is null or {{ after_value }} is null then null
        when abs({{ after_value }} - {{ before_value }}) <= {{ flat_share }} * abs({{ before_value }}) then 'flat'
        when {{ after_value }} > {{ before_value }} then 'up'
        else 'down'
    end
{%- endmacro %}


{#
    measured, or not_enough_data: until the after window has fully passed in the loaded data
    (is_after_window_complete), when the before window reaches before the data, or when the
    metric has no value in a window (a rate without trials, a median without answered waits).
#}
{% macro intervention_status(
    before_value, after_value, is_before_window_complete, is_after_window_complete
) -%}
    case
        when
            {{ is_before_window_complete }}
            and {{ is_after_window_complete }}
            and {{ before_value }} is not null
            and {{ after_value }} is not null
            then 'measured'
        else 'not_enough_data'
    end
{%- endmacro %}


{#
    Whether the hypothesis held: on the row of the expected metric, once measured, true when the
    metric moved in the expected direction (flat is false). Null on the other metrics' rows and
    while the status is not_enough_data.
#}
{% macro intervention_is_as_expected(
    metric, expected_metric, status, observed_direction, expected_direction
) -%}
    case
        when {{ status }} = 'measured' and {{ metric }} = {{ expected_metric }}
            then {{ observed_direction }} = {{ expected_direction }}
    end
{%- endmacro %}
