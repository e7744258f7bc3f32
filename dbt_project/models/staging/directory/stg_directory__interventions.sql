with

source as (

    select * from {{ source('raw_directory', 'interventions') }}

),

renamed as (

    select

        ---------- ids
        intervention_id,
        manager_id,

        ---------- strings
        kind,
        title,
        description,
        expected_metric,
        expected_direction,

        ---------- dates
        cast(event_date as date) as event_date

    from source

)

select * from renamed
