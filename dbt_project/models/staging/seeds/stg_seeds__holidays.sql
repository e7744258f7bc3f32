with

source as (

    select * from {{ ref('holidays') }}

),

renamed as (

    select
        cast(calendar_date as date) as calendar_date,
        cast(is_working_day as boolean) as is_working_day,
        name as holiday_name
    from source

)

select * from renamed
