-- The team row ('all' managers, 'all' channels) of every additive count equals the sum of
-- the per-manager rows: nothing is lost or double counted by the rollup.
with

metrics as (

    select * from {{ ref('mart_manager_metrics') }}
    where channel = 'all'

),

team as (

    select
        grain,
        period_start,
        new_dialogs,
        messages_sent,
        messages_received,
        waits,
        won_deals
    from metrics
    where manager_id = 'all'

),

managers_summed as (

    select
        grain,
        period_start,
        sum(new_dialogs) as new_dialogs,
        sum(messages_sent) as messages_sent,
        sum(messages_received) as messages_received,
        sum(waits) as waits,
        sum(won_deals) as won_deals
    from metrics
    where manager_id <> 'all'
    group by grain, period_start

)

select
    team.grain,
    team.period_start
from team
left join managers_summed
    on
        team.grain = managers_summed.grain
        and team.period_start = managers_summed.period_start
where
    managers_summed.grain is null
    or team.new_dialogs <> managers_summed.new_dialogs
    or team.messages_sent <> managers_summed.messages_sent
    or team.messages_received <> managers_summed.messages_received
    or team.waits <> managers_summed.waits
    or team.won_deals <> managers_summed.won_deals
