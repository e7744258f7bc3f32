{#- What the warehouse could not attribute or load: never silently dropped, listed here. -#}
with

wazzup_messages as (

    select * from {{ ref('stg_wazzup__messages') }}

),

identities as (

    select * from {{ ref('int_manager_identities') }}

),

managers as (

    select * from {{ ref('stg_directory__managers') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

quarantined as (

    select * from {{ ref('stg_quarantine__records') }}

),

exported_messages as (

    select
        export_manager_id,
        source,
        sent_at
    from {{ ref('stg_telegram__messages') }}
    union all
    select
        export_manager_id,
        source,
        sent_at
    from {{ ref('stg_whatsapp__messages') }}

),

unmapped_channels as (

    select
        'unmapped_wazzup_channel' as issue_kind,
        wazzup_messages.source,
        wazzup_messages.wazzup_channel_id as subject,
        'no manager has this channel in managers.csv wazzup_channel_ids: its chats are unassigned'
            as detail,
        count(*) as affected_rows,
        min(wazzup_messages.sent_at) as first_seen_at,
        max(wazzup_messages.sent_at) as last_seen_at
    from wazzup_messages
    left join identities
        on
            identities.identity_kind = 'wazzup_channel_id'
            and wazzup_messages.wazzup_channel_id = identities.identity_value
    where identities.manager_id is null
    group by wazzup_messages.source, wazzup_messages.wazzup_channel_id

),

unmapped_authors as (

    select
        'unmapped_crm_user' as issue_kind,
        wazzup_messages.source,
        wazzup_messages.author_crm_user_id as subject,
        'replies by this CRM user are credited to the channel owner: add the user to managers.csv'
            as detail,
        count(*) as affected_rows,
        min(wazzup_messages.sent_at) as first_seen_at,
        max(wazzup_messages.sent_at) as last_seen_at
    from wazzup_messages
    left join identities
        on
            identities.identity_kind = 'crm_user_id'
            and wazzup_messages.author_crm_user_id = identities.identity_value
    where wazzup_messages.author_crm_user_id is not null and identities.manager_id is null
    group by wazzup_messages.source, wazzup_messages.author_crm_user_id

),

unmapped_deal_owners as (

    select
        'unmapped_deal_responsible' as issue_kind,
        'crm' as source,
        coalesce(responsible_crm_user_id, '(none)') as subject,
        'deals of this CRM user are unassigned: add the user to managers.csv crm_user_id' as detail,
        count(*) as affected_rows,
        min(created_at) as first_seen_at,
        max(updated_at) as last_seen_at
    from deals
    where manager_id = 'unassigned'
    group by coalesce(responsible_crm_user_id, '(none)')

),

unknown_export_managers as (

    select
        'unknown_export_manager' as issue_kind,
        exported_messages.source,
        exported_messages.export_manager_id as subject,
        'the export folder is not a manager_id of managers.csv' as detail,
        count(*) as affected_rows,
        min(exported_messages.sent_at) as first_seen_at,
        max(exported_messages.sent_at) as last_seen_at
    from exported_messages
    left join managers
        on exported_messages.export_manager_id = managers.manager_id
    where managers.manager_id is null
    group by exported_messages.source, exported_messages.export_manager_id

),

identity_conflicts as (

    select
        'identity_conflict' as issue_kind,
        'directory' as source,
        identity_kind || ':' || identity_value as subject,
        'claimed by several managers in managers.csv; credited to ' || manager_id as detail,
        claimed_by_managers as affected_rows,
        cast(null as {{ sql_type('timestamp with time zone') }}) as first_seen_at,
        cast(null as {{ sql_type('timestamp with time zone') }}) as last_seen_at
    from identities
    where claimed_by_managers > 1

),

quarantined_records as (

    select
        'quarantined_record' as issue_kind,
        source,
        location as subject,
        min(reason) as detail,
        count(*) as affected_rows,
        cast(null as {{ sql_type('timestamp with time zone') }}) as first_seen_at,
        cast(null as {{ sql_type('timestamp with time zone') }}) as last_seen_at
    from quarantined
    group by source, location

),

unioned as (

    select * from unmapped_channels
    union all
    select * from unmapped_authors
    union all
    select * from unmapped_deal_owners
    union all
    select * from unknown_export_managers
    union all
    select * from identity_conflicts
    union all
    select * from quarantined_records

)

select * from unioned
