with

source as (

    select * from {{ source('raw_amocrm', 'leads') }}

),

renamed as (

    select

        ---------- ids
        id as deal_id,
        -- text, like every manager identity, so it joins managers.crm_user_id
        cast(responsible_user_id as {{ sql_type('text') }}) as responsible_crm_user_id,
        status_id,
        pipeline_id,
        loss_reason_id,
        main_contact_id,

        ---------- strings
        name as deal_name,
        -- JSON list, one object per custom field value (the lead source among them)
        custom_fields,

        ---------- numerics
        price,

        ---------- booleans
        coalesce(status_id = 142, false) as is_won,
        coalesce(status_id = 143, false) as is_lost,
        coalesce(is_deleted, false) as is_deleted,

        ---------- timestamps
        created_at,
        updated_at,
        closed_at

    from source

)

select * from renamed
