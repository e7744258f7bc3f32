{#
    The period_start `n` periods of `grain` away from a period_start (n < 0: earlier), as a date.
    Weeks move by 7 days, months, quarters and years by whole months, so a period_start stays
    the first day of its period. DuckDB and PostgreSQL both make `date + interval` a timestamp
    and agree on month arithmetic from a first day: one SQL text, cast back to date, no dispatch.
#}
{% macro shift_period(date_expr, grain, n) -%}
    {%- set steps = {
        'day': ('day', 1),
        'week': ('day', 7),
        'month': ('month', 1),
        'quarter': ('month', 3),
        'year': ('month', 12),
    } -%}
    {%- if grain not in steps -%}
        {{ exceptions.raise_compiler_error("shift_period: unknown grain '" ~ grain ~ "'") }}
    {%- endif -%}
    {%- set unit, size = steps[grain] -%}
    cast({{ date_expr }} + interval '{{ n * size }} {{ unit }}' as date)
{%- endmacro %}
