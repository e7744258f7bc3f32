with

managers as (

    select * from {{ ref('stg_directory__managers') }}

),

crm_users as (

    select * from {{ ref('stg_amocrm__users') }}

),

directory_managers as (

    select
        managers.manager_id,
        managers.manager_name,
        managers.crm_user_id,
        crm_users.user_name as crm_user_name,
        crm_users.email as crm_email,
        managers.timezone,
        managers.is_active,
        crm_users.is_active as is_crm_active
    from managers
    left join crm_users
        on managers.crm_user_id = crm_users.crm_user_id

),

-- everything no manager could be found for is credited to this row
unassigned as (

    select
        'unassigned' as manager_id,
        'Unassigned' as manager_name,
        cast(null as {{ sql_type('text') }}) as crm_user_id,
        cast(null as {{ sql_type('text') }}) as crm_user_name,
        cast(null as {{ sql_type('text') }}) as crm_email,
        cast(null as {{ sql_type('text') }}) as timezone,
        true as is_active,
        cast(null as boolean) as is_crm_active

)

select * from directory_managers
union all
select * from unassigned
