with

source as (

    select * from {{ source('raw_amocrm', 'users') }}

),

renamed as (

    select

        ---------- ids
        cast(id as {{ sql_type('text') }}) as crm_user_id,

        ---------- strings
        name as user_name,
        email,

        ---------- booleans
        coalesce(is_active, true) as is_active

    from source

)

select * from renamed
