{{ config(
    materialized='incremental',
    on_schema_change='fail',
    **replaced_by_chat()
) }}

with

all_messages as (

    select * from {{ ref('int_messages') }}

),

messages as (

    select * from all_messages
    {% if is_incremental() %}
        where {{ chat_is_touched('all_messages', 'started_at') }}
    {% endif %}

),

dialogs as (

    select * from {{ ref('int_dialogs') }}
    {% if is_incremental() %}
        where {{ chat_is_touched('all_messages', 'started_at') }}
    {% endif %}

),

calendar as (

    select * from {{ ref('int_business_calendar') }}

),

end_of_data as (

    select max(sent_at) as last_sent_at from all_messages

),

conversation as (

    -- automation and system messages neither answer a wait nor break a run of client messages;
    -- managers_before: manager messages earlier in the dialog
    select
        *,
        coalesce(sum(case when sender_kind = 'manager' then 1 else 0 end) over (
            partition by dialog_id
            order by sent_at, message_id
            rows between unbounded preceding and 1 preceding
        ), 0) as managers_before
    from messages
    where sender_kind in ('client', 'manager')

),

numbered as (

    -- rows sharing managers_before: a run of client messages, then the manager message that
    -- answers it (the next manager message raises the count); one pass, no self-join
    select
        *,
        row_number() over (
            partition by dialog_id, managers_before
            order by sent_at, message_id
        ) as position_in_group
    from conversation

),

runs as (

    select
        dialog_id,
        managers_before,
        max(case when position_in_group = 1 then message_id end) as first_message_id,
        max(source) as source,
        max(chat_id) as chat_id,
        max(channel) as channel,
        max(client_id) as client_id,
        count(case when sender_kind = 'client' then 1 end) as client_message_count,
        min(case when sender_kind = 'client' then sent_at end) as started_at,
        max(case when sender_kind = 'manager' then message_id end) as reply_message_id,
        max(case when sender_kind = 'manager' then manager_id end) as replied_by_manager_id,
        max(case when sender_kind = 'manager' then sent_at end) as replied_at
    from numbered
    group by dialog_id, managers_before
    -- a manager message right after another one answers nobody
    having count(case when sender_kind = 'client' then 1 end) > 0

),

dialog_states as (

    select
        dialogs.dialog_id,
        dialogs.direction,
        dialogs.owner_manager_id,
        dialogs.ended_at,
        end_of_data.last_sent_at,
        -- open: the chat's last dialog, and the end of data is within the gap of its last message
        lead(dialogs.started_at) over (
            partition by dialogs.chat_id
            order by dialogs.started_at, dialogs.dialog_id
        ) is null
        and {{ seconds_between('dialogs.ended_at', 'end_of_data.last_sent_at') }}
        <= {{ var('dialog_gap_hours') }} * 3600 as is_open
    from dialogs
    cross join end_of_data

),

waits as (

    select
        'wait:' || runs.source || ':' || runs.first_message_id as wait_id,
        runs.dialog_id,
        runs.chat_id,
        runs.channel,
        runs.client_id,
        runs.client_message_count,
        runs.reply_message_id,
        runs.replied_by_manager_id,
        coalesce(runs.replied_by_manager_id, dialog_states.owner_manager_id) as credited_manager_id,
        case
            when runs.reply_message_id is not null then 'answered'
            when dialog_states.is_open then 'pending'
            else 'unanswered'
        end as status,
        {{ seconds_between('runs.started_at', 'runs.replied_at') }} as response_time_s,
        {{ business_position('runs.replied_at', 'reply_day') }}
        - {{ business_position('runs.started_at', 'start_day') }} as business_response_time_s,
        dialog_states.direction = 'incoming' and runs.managers_before = 0 as is_first_wait,
        runs.started_at,
        runs.replied_at,
        -- how long the client waited: to the reply, the end of the dialog, or the end of data
        case
            when runs.reply_message_id is not null then runs.replied_at
            when dialog_states.is_open then dialog_states.last_sent_at
            else dialog_states.ended_at
        end as open_until
    from runs
    inner join dialog_states
        on runs.dialog_id = dialog_states.dialog_id
    left join calendar as start_day
        on {{ period_start('day', 'runs.started_at') }} = start_day.calendar_date
    left join calendar as reply_day
        on {{ period_start('day', 'runs.replied_at') }} = reply_day.calendar_date

)

select *{{ chat_bucket_column() }} from waits
