{# Naive local timestamp of a timestamptz in the reporting time zone (independent of the session time zone). #}
{% macro to_reporting_time(timestamp_tz) -%}
    {{ return(adapter.dispatch('to_reporting_time', 'chatsales')(timestamp_tz)) }}
{%- endmacro %}

{% macro default__to_reporting_time(timestamp_tz) -%}
    ({{ timestamp_tz }} at time zone '{{ var("reporting_timezone") }}')
{%- endmacro %}

{% macro duckdb__to_reporting_time(timestamp_tz) -%}
    timezone('{{ var("reporting_timezone") }}', {{ timestamp_tz }})
{%- endmacro %}

{# Spark's timestamp is an instant shown in the session time zone, which must be UTC: the local wall clock as such a timestamp. #}
{% macro spark__to_reporting_time(timestamp_tz) -%}
    from_utc_timestamp({{ timestamp_tz }}, '{{ var("reporting_timezone") }}')
{%- endmacro %}


{# Elapsed seconds between two timestamptz values, with fractions, as double precision. #}
{% macro seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('seconds_between', 'chatsales')(start_at, end_at)) }}
{%- endmacro %}

{% macro default__seconds_between(start_at, end_at) -%}
    cast(extract(epoch from {{ end_at }}) - extract(epoch from {{ start_at }}) as double precision)
{%- endmacro %}

{% macro duckdb__seconds_between(start_at, end_at) -%}
    cast(epoch_us({{ end_at }}) - epoch_us({{ start_at }}) as double precision) / 1000000
{%- endmacro %}

{% macro spark__seconds_between(start_at, end_at) -%}
    cast(unix_micros({{ end_at }}) - unix_micros({{ start_at }}) as double) / 1000000
{%- endmacro %}


{# Continuous percentile (linear interpolation, nulls ignored): same numbers on both engines. #}
{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'chatsales')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}


{# The timestamptz of a naive local timestamp in the reporting time zone (inverse of to_reporting_time). #}
{% macro from_reporting_time(local_timestamp) -%}
    {{ return(adapter.dispatch('from_reporting_time', 'chatsales')(local_timestamp)) }}
{%- endmacro %}

{% macro default__from_reporting_time(local_timestamp) -%}
    ({{ local_timestamp }} at time zone '{{ var("reporting_timezone") }}')
{%- endmacro %}

{% macro duckdb__from_reporting_time(local_timestamp) -%}
    timezone('{{ var("reporting_timezone") }}', {{ local_timestamp }})
{%- endmacro %}

{% macro spark__from_reporting_time(local_timestamp) -%}
    to_utc_timestamp({{ local_timestamp }}, '{{ var("reporting_timezone") }}')
{%- endmacro %}


{# One row per date from first_day to last_day (YYYY-MM-DD, both included), as column calendar_date. #}
{% macro calendar_days(first_day, last_day) -%}
    {{ return(adapter.dispatch('calendar_days', 'chatsales')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__calendar_days(first_day, last_day) -%}
    (
        select cast(day_start as date) as calendar_date
        from generate_series(
            cast('{{ first_day }}' as timestamp), cast('{{ last_day }}' as timestamp), interval '1 day'
        ) as series (day_start)
    )
{%- endmacro %}

{% macro spark__calendar_days(first_day, last_day) -%}
    (select explode(sequence(date '{{ first_day }}', date '{{ last_day }}', interval 1 day)) as calendar_date)
{%- endmacro %}


{# ISO day of the week of a date: 1 = Monday … 7 = Sunday. #}
{% macro iso_weekday(date_expr) -%}
    {{ return(adapter.dispatch('iso_weekday', 'chatsales')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_weekday(date_expr) -%}
    extract(isodow from {{ date_expr }})
{%- endmacro %}

{# Spark's weekday() counts from 0 = Monday. #}
{% macro spark__iso_weekday(date_expr) -%}
    (weekday({{ date_expr }}) + 1)
{%- endmacro %}


{# Whole days from one date to a later one, as an integer. #}
{% macro days_between(first_day, last_day) -%}
    {{ return(adapter.dispatch('days_between', 'chatsales')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__days_between(first_day, last_day) -%}
    ({{ last_day }} - {{ first_day }})
{%- endmacro %}

{# Spark (ANSI mode) makes date - date an interval. #}
{% macro spark__days_between(first_day, last_day) -%}
    datediff({{ last_day }}, {{ first_day }})
{%- endmacro %}


{# One row per integer from first to last (both included), as column i: `from {{ integer_series(1, 10) }} as numbers`. #}
{% macro integer_series(first, last) -%}
    {{ return(adapter.dispatch('integer_series', 'chatsales')(first, last)) }}
{%- endmacro %}

{% macro default__integer_series(first, last) -%}
    (select series.i from generate_series({{ first }}, {{ last }}) as series (i))
{%- endmacro %}

{% macro spark__integer_series(first, last) -%}
    (select explode(sequence({{ first }}, {{ last }})) as i)
{%- endmacro %}
