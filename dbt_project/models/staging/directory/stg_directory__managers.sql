with

source as (

    select * from {{ source('raw_directory', 'managers') }}

),

renamed as (

    select

        ---------- ids
        trim(manager_id) as manager_id,
        nullif(trim(crm_user_id), '') as crm_user_id,

        ---------- strings
        name as manager_name,
        timezone,

        ---------- booleans
        coalesce(active, true) as is_active

    from source

)

select * from renamed
