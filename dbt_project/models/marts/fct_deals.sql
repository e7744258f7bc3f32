with

amocrm_deals as (

    select * from {{ ref('stg_amocrm__deals') }}

),

bitrix24_deals as (

    select * from {{ ref('stg_bitrix24__deals') }}

),

lead_sources as (

    select * from {{ ref('int_deal_lead_sources') }}

),

crm_users as (

    select
        identity_value as crm_user_id,
        manager_id
    from {{ ref('int_manager_identities') }}
    where identity_kind = 'crm_user_id'

),

deals as (

    select
        'amocrm' as crm,
        'amocrm:' || cast(deal_id as {{ sql_type('text') }}) as deal_id,
        responsible_crm_user_id,
        cast(pipeline_id as {{ sql_type('text') }}) as pipeline_id,
        cast(status_id as {{ sql_type('text') }}) as status_id,
        cast(main_contact_id as {{ sql_type('text') }}) as main_contact_id,
        deal_name,
        cast(price as {{ sql_type('double precision') }}) as price,
        is_won,
        is_lost,
        created_at,
        updated_at,
        closed_at
    from amocrm_deals
    where not is_deleted

    union all

    select
        'bitrix24' as crm,
        'bitrix24:' || cast(deal_id as {{ sql_type('text') }}) as deal_id,
        responsible_crm_user_id,
        cast(pipeline_id as {{ sql_type('text') }}) as pipeline_id,
        stage_id as status_id,
        cast(main_contact_id as {{ sql_type('text') }}) as main_contact_id,
        deal_name,
        cast(price as {{ sql_type('double precision') }}) as price,
        is_won,
        is_lost,
        created_at,
        updated_at,
        closed_at
    from bitrix24_deals

),

final as (

    select
        deals.crm,
        deals.deal_id,
        coalesce(crm_users.manager_id, 'unassigned') as manager_id,
        deals.responsible_crm_user_id,
        deals.pipeline_id,
        deals.status_id,
        deals.main_contact_id,
        deals.deal_name,
        deals.price,
        deals.is_won,
        deals.is_lost,
        deals.created_at,
        deals.updated_at,
        deals.closed_at,
        case when deals.is_won then deals.closed_at end as won_at,
        lead_sources.lead_source,
        lead_sources.lead_source_channel
    from deals
    left join crm_users
        on deals.responsible_crm_user_id = crm_users.crm_user_id
    left join lead_sources
        on deals.deal_id = lead_sources.deal_id

)

select * from final
