{# Digits of a phone number, or null when it has none. #}
{% macro phone_digits(phone) -%}
    {{ return(adapter.dispatch('phone_digits', 'chatsales')(phone)) }}
{%- endmacro %}

{% macro default__phone_digits(phone) -%}
    nullif(regexp_replace({{ phone }}, '[^0-9]', '', 'g'), '')
{%- endmacro %}

{# Spark's regexp_replace replaces every match; its 4th argument is a position, not flags. #}
{% macro spark__phone_digits(phone) -%}
    nullif(regexp_replace({{ phone }}, '[^0-9]', ''), '')
{%- endmacro %}


{# Rounds through numeric so both engines round the same way; returns double precision. #}
{% macro round_float(expression, digits=3) -%}
    cast(round(cast({{ expression }} as numeric(18, 6)), {{ digits }}) as {{ sql_type('double precision') }})
{%- endmacro %}


{# First day of the grain's period (day, ISO week starting Monday, month) in the reporting time zone. #}
{% macro period_start(grain, timestamp_tz) -%}
    cast(date_trunc('{{ grain }}', {{ to_reporting_time(timestamp_tz) }}) as date)
{%- endmacro %}


{#
    A phone as E.164 digits (no '+'), the key chats and CRM contacts are linked by:
    Russian 8XXXXXXXXXX and 9XXXXXXXXX become 7XXXXXXXXXX; fewer than 10 digits is no phone.
    Same rule as ingestion/phones.py.
#}
{% macro normalized_phone(phone) -%}
    {%- set digits = phone_digits(phone) -%}
    case
        when length({{ digits }}) = 11 and {{ digits }} like '8%' then '7' || substr({{ digits }}, 2)
        when length({{ digits }}) = 10 and {{ digits }} like '9%' then '7' || {{ digits }}
        when length({{ digits }}) >= 10 then {{ digits }}
    end
{%- endmacro %}


{#
    Business seconds from the calendar's start to `timestamp_tz`, given `calendar`: the
    int_business_calendar row of the timestamp's local date. The business time between two
    instants is the difference of their positions.
#}
{% macro business_position(timestamp_tz, calendar) -%}
    ({{ calendar }}.business_seconds_before + case
        when {{ calendar }}.is_working_day
            then least(
                greatest({{ seconds_between(calendar ~ '.work_start_at', timestamp_tz) }}, 0),
                {{ calendar }}.working_seconds
            )
        else 0
    end)
{%- endmacro %}



{#
    union all of CTEs with different columns, each select listing `columns` in one order: a
    column the relation lacks is a null of the column's type, so no select pads by hand.
    `columns`: (name, SQL type) pairs; `relations`: each relation with the columns it has.

        {{ union_by_columns([('metric', 'varchar'), ('z_score', 'double precision')], {
            'message_anomalies': ['metric'],
            'response_anomalies': ['metric', 'z_score'],
        }) }}
#}
{% macro union_by_columns(columns, relations) -%}
    {%- for relation, present in relations.items() %}
        select
            {% for name, data_type in columns -%}
                {% if name in present %}{{ name }}{% else %}cast(null as {{ sql_type(data_type) }}) as {{ name }}{% endif %}
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
