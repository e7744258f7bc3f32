with

source as (

    select * from {{ ref('interventions') }}

),

renamed as (

    select

        ---------- ids
        trim(intervention_id) as intervention_id,
        coalesce(nullif(trim(manager_id), ''), 'all') as manager_id,

        ---------- strings
        lower(trim(kind)) as kind,
        title,
        description,

        ---------- dates
        cast(event_date as date) as event_date

    from source

)

select * from renamed
