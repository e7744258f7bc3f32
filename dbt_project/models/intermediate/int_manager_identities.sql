with

identities as (

    select * from {{ ref('stg_directory__manager_identities') }}

),

managers as (

    select * from {{ ref('stg_directory__managers') }}

),

all_identities as (

    select
        manager_id,
        identity_kind,
        identity_value
    from identities

    union

    select
        manager_id,
        'crm_user_id' as identity_kind,
        crm_user_id as identity_value
    from managers
    where crm_user_id is not null

),

resolved as (

    -- an identity claimed by several managers goes to the first by id (a test warns)
    select
        identity_kind,
        identity_value,
        min(manager_id) as manager_id,
        count(*) as claimed_by_managers
    from all_identities
    group by identity_kind, identity_value

)

select * from resolved
