with

amocrm_deals as (

    select * from {{ ref('stg_amocrm__deals') }}

),

bitrix24_deals as (

    select * from {{ ref('stg_bitrix24__deals') }}

),

custom_field_values as (

    -- one row per custom field value of a deal: amoCRM custom fields, Bitrix24 user fields
    select
        'amocrm:' || cast(amocrm_deals.deal_id as {{ sql_type('text') }}) as deal_id,
        {{ json_text_field('custom_field.element', 'field_id') }} as field_id,
        {{ json_text_field('custom_field.element', 'field_name') }} as field_name,
        {{ json_text_field('custom_field.element', 'value') }} as field_value
    from amocrm_deals
    cross join lateral {{ json_array_elements('amocrm_deals.custom_fields') }} as custom_field

    union all

    select
        'bitrix24:' || cast(bitrix24_deals.deal_id as {{ sql_type('text') }}) as deal_id,
        {{ json_text_field('custom_field.element', 'field_id') }} as field_id,
        {{ json_text_field('custom_field.element', 'field_name') }} as field_name,
        {{ json_text_field('custom_field.element', 'value') }} as field_value
    from bitrix24_deals
    cross join lateral {{ json_array_elements('bitrix24_deals.custom_fields') }} as custom_field

    union all

    select
        'bitrix24:' || cast(deal_id as {{ sql_type('text') }}) as deal_id,
        'SOURCE_ID' as field_id,
        'SOURCE_ID' as field_name,
        source_id as field_value
    from bitrix24_deals
    where source_id is not null

),

source_values as (

    select
        deal_id,
        field_value as lead_source,
        {{ lead_source_channel('field_value') }} as lead_source_channel,
        {{ lead_source_field_rank('field_id', 'field_name') }} as field_rank
    from custom_field_values

),

ranked as (

    -- a value that names a channel first, then the first configured field, then the value
    select
        *,
        row_number() over (
            partition by deal_id
            order by
                case when lead_source_channel is null then 1 else 0 end,
                field_rank,
                lead_source
        ) as source_rank
    from source_values
    where field_rank is not null

)

select
    deal_id,
    lead_source,
    lead_source_channel
from ranked
where source_rank = 1
