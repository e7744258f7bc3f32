with

deals as (

    select * from {{ ref('stg_amocrm__deals') }}

),

crm_users as (

    select
        identity_value as crm_user_id,
        manager_id
    from {{ ref('int_manager_identities') }}
    where identity_kind = 'crm_user_id'

),

final as (

    select
        deals.deal_id,
        coalesce(crm_users.manager_id, 'unassigned') as manager_id,
        deals.responsible_crm_user_id,
        deals.pipeline_id,
        deals.status_id,
        deals.loss_reason_id,
        deals.main_contact_id,
        deals.deal_name,
        deals.price,
        deals.is_won,
        deals.is_lost,
        deals.created_at,
        deals.updated_at,
        deals.closed_at,
        case when deals.is_won then deals.closed_at end as won_at
    from deals
    left join crm_users
        on deals.responsible_crm_user_id = crm_users.crm_user_id
    where not deals.is_deleted

)

select * from final
