with

deals as (

    select * from {{ ref('fct_deals') }}

),

dialogs as (

    select * from {{ ref('fct_dialogs') }}

),

chat_contacts as (

    select * from {{ ref('int_chat_contacts') }}

),

contact_dialogs as (

    -- the dialogs of the deal's contact (phone or Telegram username link) that started
    -- before the deal closed (an open deal: any)
    select
        deals.deal_id,
        dialogs.dialog_id,
        dialogs.channel,
        dialogs.started_at
    from deals
    inner join chat_contacts
        on
            deals.crm = chat_contacts.crm
            and deals.main_contact_id = chat_contacts.contact_id
    inner join dialogs
        on chat_contacts.chat_id = dialogs.chat_id
    where deals.closed_at is null or dialogs.started_at <= deals.closed_at

),

linked_dialogs as (

    -- the latest of them
    select
        deal_id,
        dialog_id,
        channel,
        row_number() over (
            partition by deal_id
            order by started_at desc, dialog_id desc
        ) as dialog_rank
    from contact_dialogs

),

final as (

    select
        deals.deal_id,
        deals.crm,
        deals.manager_id,
        deals.is_won,
        deals.closed_at,
        deals.won_at,
        linked_dialogs.dialog_id as linked_dialog_id,
        linked_dialogs.channel as dialog_channel,
        deals.lead_source,
        deals.lead_source_channel,
        {{ deal_channel('linked_dialogs.channel', 'deals.lead_source_channel') }} as channel,
        case
            when linked_dialogs.channel is not null then 'dialog'
            when deals.lead_source_channel is not null then 'lead_source'
            else 'none'
        end as channel_attributed_by
    from deals
    left join linked_dialogs
        on
            deals.deal_id = linked_dialogs.deal_id
            and linked_dialogs.dialog_rank = 1

)

select * from final
