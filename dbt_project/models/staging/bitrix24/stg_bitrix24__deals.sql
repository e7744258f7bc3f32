with

source as (

    select * from {{ source('raw_bitrix24', 'deals') }}

),

renamed as (

    select

        ---------- ids
        id as deal_id,
        assigned_by_id as responsible_crm_user_id,
        category_id as pipeline_id,
        contact_id as main_contact_id,

        ---------- strings
        title as deal_name,
        stage_id,
        stage_semantic_id,
        currency_id,
        source_id,
        -- JSON list, one object per user field (UF_*) value
        custom_fields,

        ---------- numerics
        opportunity as price,

        ---------- booleans
        coalesce(is_won, false) as is_won,
        coalesce(is_lost, false) as is_lost,

        ---------- timestamps
        created_at,
        modified_at as updated_at,
        closed_at

    from source

)

select * from renamed
