with

source as (

    select * from {{ source('raw_directory', 'manager_identities') }}

),

renamed as (

    select

        ---------- ids
        trim(manager_id) as manager_id,

        ---------- strings
        lower(trim(identity_kind)) as identity_kind,
        trim(identity_value) as identity_value

    from source

)

select * from renamed
