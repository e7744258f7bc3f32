{#- Every source's quarantine table has the same shape (ingestion/quarantine.py). -#}
{%- set loaded_sources = [
    'raw_wazzup', 'raw_amocrm', 'raw_directory', 'raw_telegram', 'raw_whatsapp', 'raw_bitrix24',
] -%}

with

{% for loaded_source in loaded_sources %}
    {{ loaded_source }} as (

        select
            source,
            location,
            line,
            record_kind,
            record_index,
            raw_payload,
            reason
        from {{ source(loaded_source, 'quarantine') }}

    ),

{% endfor %}
unioned as (

    {% for loaded_source in loaded_sources %}
        select * from {{ loaded_source }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
