with

messages as (

    select * from {{ ref('int_messages') }}

),

dialogs as (

    select * from {{ ref('int_dialogs') }}

),

conversation as (

    -- automation and system messages neither answer a wait nor break a run of client messages
    select
        *,
        sum(case when sender_kind = 'manager' then 1 else 0 end) over (
            partition by dialog_id
            order by sent_at, message_id
            rows between unbounded preceding and current row
        ) as manager_messages_so_far
    from messages
    where sender_kind in ('client', 'manager')

),

client_runs as (

    -- client messages preceded by the same number of manager messages form one wait
    select
        *,
        row_number() over (
            partition by dialog_id, manager_messages_so_far
            order by sent_at, message_id
        ) as position_in_run,
        count(*) over (partition by dialog_id, manager_messages_so_far) as client_message_count
    from conversation
    where sender_kind = 'client'

),

replies as (

    select * from conversation
    where sender_kind = 'manager'

),

dialog_states as (

    select
        dialog_id,
        direction,
        owner_manager_id,
        -- open: the chat's last dialog, and the end of data is within the gap of its last message
        lead(started_at) over (
            partition by chat_id
            order by started_at, dialog_id
        ) is null
        and {{ seconds_between('ended_at', 'max(ended_at) over ()') }}
        <= {{ var('dialog_gap_hours') }} * 3600 as is_open
    from dialogs

),

waits as (

    select
        'wait:' || client_runs.source || ':' || client_runs.message_id as wait_id,
        client_runs.dialog_id,
        client_runs.chat_id,
        client_runs.channel,
        client_runs.client_id,
        client_runs.client_message_count,
        replies.message_id as reply_message_id,
        replies.manager_id as replied_by_manager_id,
        coalesce(replies.manager_id, dialog_states.owner_manager_id) as credited_manager_id,
        case
            when replies.message_id is not null then 'answered'
            when dialog_states.is_open then 'pending'
            else 'unanswered'
        end as status,
        {{ seconds_between('client_runs.sent_at', 'replies.sent_at') }} as response_time_s,
        dialog_states.direction = 'incoming'
        and client_runs.manager_messages_so_far = 0 as is_first_wait,
        client_runs.sent_at as started_at,
        replies.sent_at as replied_at
    from client_runs
    inner join dialog_states
        on client_runs.dialog_id = dialog_states.dialog_id
    left join replies
        on
            client_runs.dialog_id = replies.dialog_id
            and client_runs.manager_messages_so_far + 1 = replies.manager_messages_so_far
    where client_runs.position_in_run = 1

)

select * from waits
