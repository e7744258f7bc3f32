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
