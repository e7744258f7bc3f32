"""A plain-SQL floor under `chatsales run` on PostgreSQL, for `bench_scale.py --postgres`.

    .venv/bin/python bench/floor_postgres.py LANDING POSTGRES_URL [--keep]

With psycopg2 and SQL alone, in a schema of its own in the database of POSTGRES_URL (dropped
at the start and, unless `--keep`, at the end), it:

- load: COPYs every line of LANDING/wazzup/*.jsonl, in file-name order, into a jsonb column
  (a file with a line that is not JSON goes through a text table and a cast that keeps NULL
  for such a line), and managers.csv into a table of text columns;
- messages: the `messages` records of the bodies as the project's parser
  (ingestion/wazzup/parsing.py) keeps them, one row per messageId, the last received
  winning, with the manager who owns the Wazzup channel (managers.csv);
- dialogs: a new one per channel and chat after a gap of more than 72 h;
- waits: a run of customer messages, answered by the next manager message if any;
- monthly: per manager and Moscow month, new dialogs (incoming, outgoing), messages,
  messages per dialog, waits answered, median, mean and p90 response, and month-over-month
  deltas.

The ids are text in the "C" collation (DuckDB's order, and PostgreSQL's fastest sorts).
No framework, no tests, no business hours, no CRM. It prints one line per step (seconds and
rows) and the total on the last line, as the DuckDB floor does.
"""

from __future__ import annotations

import argparse
import csv
import time
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg2
import psycopg2.errors
from psycopg2 import sql

SCHEMA = "plain_sql_floor"
# Every body as it was received: JSON cannot hold a raw control character, so with these as
# its quote and delimiter, CSV reads each line as one field, backslashes untouched.
COPY_BODIES = "copy bodies (body) from stdin with (format csv, quote e'\\x01', delimiter e'\\x02')"
COPY_LINES = (
    "copy body_lines (line) from stdin with (format csv, quote e'\\x01', delimiter e'\\x02')"
)
CHAT_TYPES = (
    "whatsapp", "whatsgroup", "viber", "instagram", "telegram",
    "telegroup", "vk", "avito", "max", "maxgroup",
)  # fmt: skip


def connect(url: str):
    """psycopg2 connection to a `postgresql://` URL (a quoted password may hold `@/:%#`)."""
    parsed = urlparse(url)
    return psycopg2.connect(
        host=parsed.hostname or "localhost",
        port=parsed.port or 5432,
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password or ""),
        dbname=parsed.path.lstrip("/") or "postgres",
        connect_timeout=10,
    )


def load(cursor, landing: Path) -> None:
    cursor.execute("""
        create table bodies (received bigint generated always as identity, body jsonb);
        create table body_lines (received bigint generated always as identity, line text);
        create function as_jsonb(line text) returns jsonb language plpgsql immutable as $$
        begin
            return line::jsonb;
        exception when others then
            return null;  -- the parser quarantines such a line
        end $$;
    """)
    for path in sorted((landing / "wazzup").glob("*.jsonl")):
        cursor.execute("savepoint a_file")
        try:
            with path.open("rb") as lines:
                cursor.copy_expert(COPY_BODIES, lines, size=1 << 20)
        except psycopg2.DataError:  # a line that is not JSON (rare): line by line
            cursor.execute("rollback to savepoint a_file")
            with path.open("rb") as lines:
                cursor.copy_expert(COPY_LINES, lines, size=1 << 20)
            cursor.execute("""
                insert into bodies (body)
                select as_jsonb(line) from body_lines order by received;
                truncate body_lines;
            """)
        cursor.execute("release savepoint a_file")

    managers = landing / "managers.csv"
    with managers.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in header)
    cursor.execute(sql.SQL("create table managers ({})").format(columns))
    with managers.open("rb") as handle:
        cursor.copy_expert("copy managers from stdin with (format csv, header)", handle)


# A record the parser keeps: an object with a known chatType, ids that are strings or
# integers, and an ISO dateTime (its rarer rejections, e.g. a contact that is no object,
# are not repeated here).
ID_TYPES = "in ('string', 'number')"
STEPS = {
    "messages": f"""
create table messages as
with records as (
    select bodies.received, record.position, record.m
    from bodies
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof(bodies.body -> 'messages') = 'array' then body -> 'messages' end
    ) with ordinality as record (m, position)
),
kept as (
    select
        (m ->> 'messageId') collate "C" as message_id,
        (m ->> 'dateTime')::timestamptz as sent_at,
        (m ->> 'channelId') collate "C" as channel_id,
        m ->> 'chatType' as channel,
        (m ->> 'chatId') collate "C" as chat_id,
        coalesce(m ->> 'isEcho' = 'true', false) as is_echo,
        m ->> 'authorId' as author_id,
        coalesce(m ->> 'type', 'unknown') as kind,
        received,
        position
    from records
    where
        jsonb_typeof(m) = 'object'
        and m ->> 'chatType' in ({", ".join(f"'{t}'" for t in CHAT_TYPES)})
        and jsonb_typeof(m -> 'messageId') {ID_TYPES}
        and jsonb_typeof(m -> 'channelId') {ID_TYPES}
        and jsonb_typeof(m -> 'chatId') {ID_TYPES}
        and m ->> 'dateTime' ~ '^\\d{{4}}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d'
),
last_received as (
    select distinct on (message_id) *
    from kept
    order by message_id, received desc, position desc
),
channel_owners as (
    select channel_id, min(trim(manager_id)) as manager_id
    from managers
    cross join lateral unnest(string_to_array(wazzup_channel_ids, ';')) as ids (channel_id_raw)
    cross join lateral (select trim(channel_id_raw) as channel_id) as trimmed
    where trimmed.channel_id <> '' and trim(manager_id) <> ''
    group by channel_id
)
select
    message_id, sent_at, last_received.channel_id, channel, chat_id, is_echo, author_id, kind,
    coalesce(channel_owners.manager_id, 'unassigned') as manager_id,
    case when is_echo then 'out' else 'in' end as direction
from last_received
left join channel_owners using (channel_id)
""",
    "dialogs": """
create table dialogs as
with gaps as (
    select
        channel_id, chat_id, sent_at, message_id, manager_id, channel, direction,
        case
            when lag(sent_at) over w is null
                or sent_at - lag(sent_at) over w > interval '72 hours' then 1
            else 0
        end as is_start
    from messages
    window w as (partition by channel_id, chat_id order by sent_at, message_id)
),
numbered as (
    select
        *,
        sum(is_start) over (
            partition by channel_id, chat_id order by sent_at, message_id
            rows between unbounded preceding and current row
        ) as dialog_no
    from gaps
)
select
    channel_id, chat_id, dialog_no, min(manager_id) as manager_id, min(channel) as channel,
    min(sent_at) as started_at,
    min(case when is_start = 1 then direction end) as first_direction,
    count(*) as messages, count(*) filter (where direction = 'out') as messages_out
from numbered
group by channel_id, chat_id, dialog_no
""",
    "waits": """
create table waits as
with flagged as (
    select
        channel_id, chat_id, sent_at, message_id, manager_id, direction,
        case when direction = lag(direction) over w then 0 else 1 end as is_run_start
    from messages
    window w as (partition by channel_id, chat_id order by sent_at, message_id)
),
runs as (
    select
        manager_id, channel_id, chat_id, direction, sent_at,
        lead(sent_at) over w as next_run_at, lead(direction) over w as next_direction
    from flagged
    where is_run_start = 1
    window w as (partition by channel_id, chat_id order by sent_at, message_id)
)
select
    manager_id, channel_id, chat_id, sent_at as waited_from,
    case
        when next_direction = 'out' then extract(epoch from next_run_at - sent_at)::float8
    end as response_s
from runs
where direction = 'in'
""",
    "monthly": """
create table monthly as
with d as (
    select
        manager_id, date_trunc('month', started_at at time zone 'Europe/Moscow') as month,
        count(*) as new_dialogs,
        count(*) filter (where first_direction = 'in') as new_incoming,
        count(*) filter (where first_direction = 'out') as new_outgoing,
        avg(messages) as messages_per_dialog
    from dialogs
    group by 1, 2
),
msg as (
    select
        manager_id, date_trunc('month', sent_at at time zone 'Europe/Moscow') as month,
        count(*) filter (where direction = 'out') as messages_sent,
        count(*) filter (where direction = 'in') as messages_received
    from messages
    group by 1, 2
),
w as (
    select
        manager_id, date_trunc('month', waited_from at time zone 'Europe/Moscow') as month,
        count(*) as waits, count(response_s) as waits_answered,
        percentile_cont(0.5) within group (order by response_s) as response_median_s,
        avg(response_s) as response_mean_s,
        percentile_cont(0.9) within group (order by response_s) as response_p90_s
    from waits
    group by 1, 2
),
m as (
    select *
    from msg
    left join d using (manager_id, month)
    left join w using (manager_id, month)
)
select
    *,
    new_dialogs - lag(new_dialogs) over p as new_dialogs_mom,
    response_median_s - lag(response_median_s) over p as response_median_s_mom
from m
window p as (partition by manager_id order by month)
""",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("url", help="postgresql://... of a database it may create a schema in")
    parser.add_argument("--keep", action="store_true", help=f"keep the schema {SCHEMA}")
    args = parser.parse_args()

    conn = connect(args.url)
    cursor = conn.cursor()
    drop = sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(SCHEMA))
    cursor.execute(drop)
    cursor.execute(sql.SQL("create schema {}").format(sql.Identifier(SCHEMA)))
    cursor.execute(sql.SQL("set search_path to {}").format(sql.Identifier(SCHEMA)))
    cursor.execute("set timezone to 'UTC'")
    cursor.execute("set work_mem to '256MB'")
    conn.commit()

    steps = {"load": partial(load, cursor, args.landing)}
    steps |= {name: partial(cursor.execute, statement) for name, statement in STEPS.items()}
    total = 0.0
    for name, step in steps.items():
        started = time.perf_counter()
        step()
        conn.commit()
        seconds = time.perf_counter() - started
        total += seconds
        table = sql.Identifier("bodies" if name == "load" else name)
        cursor.execute(sql.SQL("select count(*) from {}").format(table))
        print(f"{name:10s} {seconds:7.2f} s  {cursor.fetchone()[0]:,} rows", flush=True)
    if not args.keep:
        cursor.execute(drop)
        conn.commit()
    conn.close()
    print(f"baseline total {total:.2f} s")


if __name__ == "__main__":
    main()
