with

source as (

    select * from {{ source('raw_bitrix24', 'contacts') }}

),

renamed as (

    select

        ---------- ids
        id as contact_id,

        ---------- strings
        name as contact_name,
        -- phones are normalized to E.164 digits by the loader (ingestion/phones.py)
        primary_phone,
        phones,
        cast(null as {{ sql_type('text') }}) as telegram_username

    from source

)

select * from renamed
