{#
    Sentences of marts.mart_anomalies (reason_en, reason_ru) for a head of sales: numbers in
    human units, built by SQL concatenation so both engines write the same text.
    anomaly_reason(lang) reads the columns of the model's `flagged` CTE: kind, judged_by, manager_id,
    value, baseline_value, expected_low, expected_high, team_value, load_change, load_driver
    ('dialogs', 'messages' or 'waits': answered waits, "client requests"),
    won_deals, new_dialogs, previous_won_deals, previous_new_dialogs.
#}

{# A number rounded to `digits` decimals as text ('7.0', '15'); Russian uses a decimal comma. #}
{% macro anomaly_number(expression, digits, lang) -%}
    {%- set text -%} cast(round(cast({{ expression }} as numeric(18, 6)), {{ digits }}) as {{ sql_type('varchar') }}) {%- endset -%}
    {%- if lang == 'ru' -%} replace({{ text }}, '.', ',') {%- else -%} {{ text }} {%- endif -%}
{%- endmacro %}

{# A fraction as a percentage with one decimal: '12.1%'. #}
{% macro anomaly_percent(fraction, lang) -%}
    {{ anomaly_number('100.0 * ' ~ fraction, 1, lang) }} || '%'
{%- endmacro %}

{# A relative change as a signed whole percentage: '+80%', '-15%'. #}
{% macro anomaly_change(fraction, lang) -%}
    case when {{ fraction }} >= 0 then '+' else '' end || {{ anomaly_number('100.0 * ' ~ fraction, 0, lang) }} || '%'
{%- endmacro %}

{# Seconds as a number of minutes: one decimal under 10 min ('6.5', '7'), whole from 10 min ('15'). #}
{% macro anomaly_minutes(seconds, lang) -%}
    case
        when {{ seconds }} < 600 and round(cast({{ seconds }} / 60.0 as numeric(18, 6)), 1)
            <> round(cast({{ seconds }} / 60.0 as numeric(18, 6)), 0)
            then {{ anomaly_number(seconds ~ ' / 60.0', 1, lang) }}
        else {{ anomaly_number(seconds ~ ' / 60.0', 0, lang) }}
    end
{%- endmacro %}

{# Seconds as a duration: '6.5 min', '15 min'; hours from 2 h: '2.5 h'. #}
{% macro anomaly_duration(seconds, lang) -%}
    case
        when {{ seconds }} < 7200 then {{ anomaly_minutes(seconds, lang) }} || '{{ " мин" if lang == "ru" else " min" }}'
        else {{ anomaly_number(seconds ~ ' / 3600.0', 1, lang) }} || '{{ " ч" if lang == "ru" else " h" }}'
    end
{%- endmacro %}

{# A change of duration, '7 → 15 min', or with a unit on each side when hours are involved. #}
{% macro anomaly_duration_change(before, after, lang) -%}
    case
        when {{ before }} < 7200 and {{ after }} < 7200
            then {{ anomaly_minutes(before, lang) }} || ' → ' || {{ anomaly_duration(after, lang) }}
        else {{ anomaly_duration(before, lang) }} || ' → ' || {{ anomaly_duration(after, lang) }}
    end
{%- endmacro %}

{# How much the response time grew against its baseline: 'rose 45%', 'almost doubled', 'doubled', 'rose 3.1-fold'. #}
{% macro anomaly_rise(value, baseline, lang) -%}
    {%- set ratio -%} ({{ value }} / {{ baseline }}) {%- endset -%}
    {%- if lang == 'ru' -%}
    case
        when {{ ratio }} < 1.8 then 'выросло на ' || {{ anomaly_number('100.0 * (' ~ ratio ~ ' - 1)', 0, lang) }} || '%'
        when {{ ratio }} < 1.95 then 'выросло почти вдвое'
        when {{ ratio }} < 2.3 then 'выросло вдвое'
        else 'выросло в ' || {{ anomaly_number(ratio, 1, lang) }} || ' раза'
    end
    {%- else -%}
    case
        when {{ ratio }} < 1.8 then 'rose ' || {{ anomaly_number('100.0 * (' ~ ratio ~ ' - 1)', 0, lang) }} || '%'
        when {{ ratio }} < 1.95 then 'almost doubled'
        when {{ ratio }} < 2.3 then 'doubled'
        else 'rose ' || {{ anomaly_number(ratio, 1, lang) }} || '-fold'
    end
    {%- endif -%}
{%- endmacro %}

{# The load behind a slower response, e.g. 'dialogs +3%' / 'диалоги +3%'. #}
{% macro anomaly_load(lang) -%}
    {%- set words = ('сообщения клиентов ', 'обращения клиентов ', 'диалоги ') if lang == 'ru'
        else ('client messages ', 'client requests ', 'dialogs ') -%}
    case load_driver
        when 'messages' then '{{ words[0] }}' when 'waits' then '{{ words[1] }}' else '{{ words[2] }}'
    end
    || {{ anomaly_change('load_change', lang) }}
{%- endmacro %}

{% macro anomaly_reason(lang) -%}
    {%- set load_percent = 'round(cast(100.0 * load_change as numeric(18, 6)), 0)' -%}
    {%- set response_change -%}
        {{ anomaly_rise('value', 'baseline_value', lang) }} || ' ('
        || {{ anomaly_duration_change('baseline_value', 'value', lang) }} || ')'
    {%- endset -%}
    {#- only the bound that was crossed: the far one may be set by another outlier -#}
    {%- set messages_value -%}
        {{ anomaly_number('value', 1, lang) }} || case when judged_by = 'fixed_range'
            then {{ "' сообщения на диалог, а норма — '" if lang == 'ru' else "' messages per dialog where the norm is '" }}
            else {{ "' сообщения на диалог, а в команде обычно '" if lang == 'ru' else "' messages per dialog where the team usually has '" }}
        end
    {%- endset -%}
    {%- set conversion_counts -%}
        cast(previous_won_deals as {{ sql_type('varchar') }}) || '/' || cast(previous_new_dialogs as {{ sql_type('varchar') }}) || ' → '
        || cast(won_deals as {{ sql_type('varchar') }}) || '/' || cast(new_dialogs as {{ sql_type('varchar') }})
    {%- endset -%}
    {%- if lang == 'ru' -%}
    case kind
        when 'too_few_messages' then 'В среднем ' || {{ messages_value }} || 'не меньше '
            || {{ anomaly_number('expected_low', 1, lang) }} || ': менеджер не дорабатывает клиента'
        when 'too_many_messages' then 'В среднем ' || {{ messages_value }} || 'не больше '
            || {{ anomaly_number('expected_high', 1, lang) }} || ': менеджер не закрывает сделку'
        when 'overload' then 'Время ответа ' || {{ response_change }} || ', а '
            || case load_driver
                when 'messages' then 'сообщений от клиентов' when 'waits' then 'обращений клиентов' else 'диалогов'
            end
            || ' стало на ' || {{ anomaly_number('100.0 * load_change', 0, lang) }}
            || '% больше: похоже на перегрузку'
        when 'slowdown' then 'Время ответа ' || {{ response_change }} || ', а нагрузка '
            || case
                when load_change is null then 'не выросла'
                when {{ load_percent }} < -10 then 'снизилась (' || {{ anomaly_load(lang) }} || ')'
                when {{ load_percent }} <= 10 then 'почти не изменилась (' || {{ anomaly_load(lang) }} || ')'
                else 'выросла умеренно (' || {{ anomaly_load(lang) }} || ')'
            end
            || ': замедление, а не перегрузка'
        when 'slow_response' then 'Медианное время ответа ' || {{ anomaly_duration('value', lang) }}
            || ' — более чем вдвое больше медианы команды (' || {{ anomaly_duration('team_value', lang) }} || ')'
        when 'conversion_drop' then
            case when manager_id = 'all' then 'Конверсия команды' else 'Конверсия' end
            || ' упала с ' || {{ anomaly_percent('baseline_value', lang) }}
            || ' до ' || {{ anomaly_percent('value', lang) }}
            || ' (продажи/диалоги: ' || {{ conversion_counts }} || '; значимо, p < 0,05)'
    end
    {%- else -%}
    case kind
        when 'too_few_messages' then {{ messages_value }} || 'at least '
            || {{ anomaly_number('expected_low', 1, lang) }} || ': not working the client'
        when 'too_many_messages' then {{ messages_value }} || 'at most '
            || {{ anomaly_number('expected_high', 1, lang) }} || ': not closing'
        when 'overload' then 'Response time ' || {{ response_change }} || ' while '
            || case load_driver
                when 'messages' then 'client messages' when 'waits' then 'client requests' else 'dialogs'
            end
            || ' rose ' || {{ anomaly_number('100.0 * load_change', 0, lang) }} || '%: likely overload'
        when 'slowdown' then 'Response time ' || {{ response_change }} || ' while load '
            || case
                when load_change is null then 'did not grow'
                when {{ load_percent }} < -10 then 'fell (' || {{ anomaly_load(lang) }} || ')'
                when {{ load_percent }} <= 10 then 'stayed flat (' || {{ anomaly_load(lang) }} || ')'
                else 'grew only moderately (' || {{ anomaly_load(lang) }} || ')'
            end
            || ': slowdown, not load'
        when 'slow_response' then 'Median response time ' || {{ anomaly_duration('value', lang) }}
            || ', more than twice the team median (' || {{ anomaly_duration('team_value', lang) }} || ')'
        when 'conversion_drop' then
            case when manager_id = 'all' then 'Team conversion' else 'Conversion' end
            || ' fell from ' || {{ anomaly_percent('baseline_value', lang) }}
            || ' to ' || {{ anomaly_percent('value', lang) }}
            || ' (won/dialogs ' || {{ conversion_counts }} || '; significant, p < 0.05)'
    end
    {%- endif -%}
{%- endmacro %}
