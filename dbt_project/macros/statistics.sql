{#
    Proportions in small samples (doc blocks metric_wilson_interval and metric_significance in
    models/docs/conversion.md): Wilson 95% score interval and the
    pooled two-proportion z-test. Plain SQL arithmetic: same numbers on every engine.
    Arguments are SQL expressions; a null or zero count of trials gives null.
#}

{% macro wilson_low(successes, trials) -%}
    {{ _wilson_bound(successes, trials, -1) }}
{%- endmacro %}

{% macro wilson_high(successes, trials) -%}
    {{ _wilson_bound(successes, trials, 1) }}
{%- endmacro %}

{% macro _wilson_bound(successes, trials, sign) -%}
    {%- set z = 1.959964 -%}
    {%- set n -%} cast(nullif({{ trials }}, 0) as {{ sql_type('double precision') }}) {%- endset -%}
    {%- set p -%} ({{ successes }} / {{ n }}) {%- endset -%}
    {%- set bound -%}
        ({{ p }} + {{ z * z / 2 }} / {{ n }} {{ '+' if sign > 0 else '-' }} {{ z }}
            * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z * z / 4 }} / ({{ n }} * {{ n }})))
        / (1 + {{ z * z }} / {{ n }})
    {%- endset -%}
    case when {{ successes }} <= {{ trials }} then {{ round_float(bound, digits=4) }} end
{%- endmacro %}

{#
    z of the pooled two-proportion test of s1/n1 against s2/n2; null when either sample is
    empty or the pooled proportion is 0 or 1 (no variance to test against).
#}
{% macro two_proportion_z(successes_1, trials_1, successes_2, trials_2) -%}
    {%- set n1 -%} cast(nullif({{ trials_1 }}, 0) as {{ sql_type('double precision') }}) {%- endset -%}
    {%- set n2 -%} cast(nullif({{ trials_2 }}, 0) as {{ sql_type('double precision') }}) {%- endset -%}
    {%- set pooled = pooled_proportion(successes_1, trials_1, successes_2, trials_2) -%}
    case when {{ successes_1 }} <= {{ trials_1 }} and {{ successes_2 }} <= {{ trials_2 }} then
        ({{ successes_1 }} / {{ n1 }} - {{ successes_2 }} / {{ n2 }})
        / nullif(sqrt({{ pooled }} * (1 - {{ pooled }}) * (1 / {{ n1 }} + 1 / {{ n2 }})), 0)
    end
{%- endmacro %}

{#
    (s1 + s2) / (n1 + n2): both samples as one; null when both are empty. A zero guarded in
    the formula, not by a filter beside it: Spark may compute a projection before the filter.
#}
{% macro pooled_proportion(successes_1, trials_1, successes_2, trials_2) -%}
    (({{ successes_1 }} + {{ successes_2 }})
        / cast(nullif({{ trials_1 }} + {{ trials_2 }}, 0) as {{ sql_type('double precision') }}))
{%- endmacro %}

{# True when s1/n1 and s2/n2 differ at p < 0.05 (two-sided); null when the test is undefined. #}
{% macro is_significant_change(successes_1, trials_1, successes_2, trials_2) -%}
    abs({{ two_proportion_z(successes_1, trials_1, successes_2, trials_2) }}) >= 1.959964
{%- endmacro %}

{#
    The MAD (median absolute deviation) as a standard deviation: 1.4826 · MAD estimates σ of
    normal data, and one outlier moves it little (doc block metric_robust_norm).
#}
{% macro mad_as_sigma(mad) -%}
    1.4826 * ({{ mad }})
{%- endmacro %}

{#
    z of the Mann–Whitney U test of sample 1 against sample 2 (doc block
    metric_response_time_u_test): the normal approximation with the tie correction, no
    continuity correction. rank_sum is the sum of sample 1's ranks in the pooled samples
    (ties get their average rank), n1 and n2 the sample sizes, tie_term the sum over groups of
    tied values of t³ - t. Positive when sample 1 tends to be larger. Null when a sample is
    empty or every value is tied (no variance).
#}
{% macro mann_whitney_z(rank_sum, n1, n2, tie_term) -%}
    {%- set a -%} cast(nullif({{ n1 }}, 0) as {{ sql_type('double precision') }}) {%- endset -%}
    {%- set b -%} cast(nullif({{ n2 }}, 0) as {{ sql_type('double precision') }}) {%- endset -%}
    ({{ rank_sum }} - {{ a }} * ({{ a }} + 1) / 2 - {{ a }} * {{ b }} / 2)
    / nullif(sqrt(
        {{ a }} * {{ b }} / 12
        * (({{ a }} + {{ b }} + 1) - ({{ tie_term }}) / (({{ a }} + {{ b }}) * ({{ a }} + {{ b }} - 1)))
    ), 0)
{%- endmacro %}
