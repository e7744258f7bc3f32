-- Every row of 'all' channels (each manager and the team) equals the sum of its channel rows
-- for the counts credited to one channel each: new dialogs and won deals (a won deal with
-- neither a linked dialog nor a lead source is on channel 'unknown', never lost).
with

metrics as (

    select * from {{ ref('mart_manager_metrics') }}

),

all_channels as (

    select
        grain,
        period_start,
        manager_id,
        new_dialogs,
        won_deals
    from metrics
    where channel = 'all'

),

channels_summed as (

    select
        grain,
        period_start,
        manager_id,
        sum(new_dialogs) as new_dialogs,
        sum(won_deals) as won_deals
    from metrics
    where channel <> 'all'
    group by grain, period_start, manager_id

)

select
    all_channels.grain,
    all_channels.period_start,
    all_channels.manager_id
from all_channels
left join channels_summed
    on
        all_channels.grain = channels_summed.grain
        and all_channels.period_start = channels_summed.period_start
        and all_channels.manager_id = channels_summed.manager_id
where
    coalesce(channels_summed.new_dialogs, 0) <> all_channels.new_dialogs
    or coalesce(channels_summed.won_deals, 0) <> all_channels.won_deals
