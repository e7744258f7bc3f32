with

source as (

    select * from {{ source('raw_wazzup', 'channels') }}

),

renamed as (

    select

        ---------- ids
        channel_id as wazzup_channel_id,

        ---------- strings
        state as channel_state,

        ---------- timestamps
        state_changed_at

    from source

)

select * from renamed
