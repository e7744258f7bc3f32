with

dialogs as (

    select * from {{ ref('int_dialogs') }}

),

chat_contacts as (

    select * from {{ ref('int_chat_contacts') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

won_deal_links as (

    -- cohort conversion: a deal of the chat's CRM contact won within the window of the start
    select
        dialogs.dialog_id,
        min(deals.deal_id) as won_deal_id
    from dialogs
    inner join chat_contacts
        on dialogs.chat_id = chat_contacts.chat_id
    inner join deals
        on
            chat_contacts.crm = deals.crm
            and chat_contacts.contact_id = deals.main_contact_id
    where
        deals.is_won
        and deals.won_at >= dialogs.started_at
        and deals.won_at < dialogs.started_at + interval '{{ var("conversion_window_days") }} days'
    group by dialogs.dialog_id

),

final as (

    select
        dialogs.dialog_id,
        dialogs.chat_id,
        dialogs.source,
        dialogs.channel,
        dialogs.client_id,
        dialogs.owner_manager_id,
        dialogs.direction,
        row_number() over (
            partition by dialogs.client_id
            order by dialogs.started_at, dialogs.dialog_id
        ) = 1 as is_new_client,
        dialogs.is_unanswered_outreach,
        won_deal_links.won_deal_id,
        won_deal_links.won_deal_id is not null as is_converted,
        chat_contacts.chat_id is not null as is_contact_linked,
        dialogs.client_message_count,
        dialogs.manager_message_count,
        dialogs.message_count,
        dialogs.started_at,
        dialogs.ended_at
    from dialogs
    left join won_deal_links
        on dialogs.dialog_id = won_deal_links.dialog_id
    left join chat_contacts
        on dialogs.chat_id = chat_contacts.chat_id

)

select * from final
