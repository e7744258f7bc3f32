"""`chatsales init` against local replays of the Wazzup API v3, amoCRM v4 and a Bitrix24 REST
webhook, with webhooks already landed: the draft of managers.csv and its reasons, what is left
for a person, a second and third init after a person edited the file, the secrets' checks and
the webhook subscription through a real receiver. The matching and the merge are also tested
alone, in milliseconds."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from collections import Counter

import pytest

from chatsales.app.onboarding.accounts import Channel, UserAccount
from chatsales.app.onboarding.managers_file import merge
from chatsales.app.onboarding.matching import Person, draft, same_name
from chatsales.app.receiver import Receiver
from ingestion.directory import COLUMNS

from .support.amocrm_api_replay import ACCESS_TOKEN, Account, amocrm_api
from .support.bitrix24_api_replay import WEBHOOK_TOKEN, Portal, bitrix24_webhook
from .support.cli import CHATSALES, warehouse_env
from .support.paths import REPO_ROOT
from .support.wazzup_api_replay import WAZZUP_API_KEY, WazzupAccount, wazzup_api

RECEIVER_TOKEN = "init-test-webhook-token-0123456789"
WA_1, TG_1, WA_2, AV_1, SHARED, VB_NEW, WA_3 = (
    f"{n:08d}-0000-4000-8000-000000000000" for n in range(1, 8)
)
CHANNELS = [
    {"channelId": WA_1, "transport": "whatsapp", "plainId": "79001110001", "state": "active"},
    {"channelId": TG_1, "transport": "tgapi", "plainId": "alexey_uyut", "state": "active"},
    {"channelId": WA_2, "transport": "whatsapp", "plainId": "79001110002", "state": "active"},
    {"channelId": AV_1, "transport": "avito", "plainId": "411", "state": "active"},
    {"channelId": SHARED, "transport": "whatsapp", "plainId": "79001110000", "state": "active"},
    {"channelId": VB_NEW, "transport": "viber", "plainId": "79001110009", "state": "init"},
]
WAZZUP_USERS = [
    {"id": "501", "name": "Алексей Смирнов"},  # the CRM's id: linked by Wazzup's integration
    {"id": "w-77", "name": "мария  КУЗНЕЦОВА"},  # the CRM's "Кузнецова Мария", spelled otherwise
    {"id": "600", "name": "Пётр Орлов"},  # in Wazzup only
]
AMOCRM_USERS = [
    {"id": id_, "name": name, "email": f"{id_}@uyut.example", "rights": {"is_active": True}}
    for id_, name in [(501, "Алексей Смирнов"), (502, "Кузнецова Мария"), (503, "Ирина Белова")]
]
# by channel, who wrote its echoes (None: sent from the phone, no author)
ECHOES = {WA_1: ["501"] * 3, TG_1: ["501", "501", None], WA_2: ["502"] * 2,
          AV_1: ["600"] * 2, SHARED: ["501", "502"] * 2}  # fmt: skip
HEADER = ",".join(COLUMNS)


def webhook_lines(echoes: dict[str, list[str | None]], prefix: str) -> str:
    lines = []
    for channel, authors in echoes.items():
        chat_type = {"tgapi": "telegram"}.get(_transport(channel), _transport(channel))
        for n, author in enumerate(authors):
            message = {
                "messageId": f"{prefix}-{channel[:8]}-{n}", "channelId": channel,
                "chatType": chat_type, "chatId": f"7900{n:07d}",
                "dateTime": f"2026-12-01T10:{n:02d}:00.000Z", "type": "text", "isEcho": True,
                "text": "Здравствуйте!", "status": "sent",
            }  # fmt: skip
            if author:
                message |= {"authorId": author, "authorName": "—"}
            lines.append(json.dumps({"messages": [message]}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _transport(channel: str) -> str:
    every = [*CHANNELS, {"channelId": WA_3, "transport": "whatsapp"}]
    return next(c["transport"] for c in every if c["channelId"] == channel)


def chatsales_init(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHATSALES, "init", *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.fixture
def company(tmp_path):
    """The landing folder with a day of webhooks, and the environment `init` runs in."""
    landing = tmp_path / "landing"
    (landing / "wazzup").mkdir(parents=True)
    (landing / "wazzup" / "2026-12-01.jsonl").write_text(webhook_lines(ECHOES, "d1"), "utf-8")
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", landing)
    env.update(
        SOURCES__WAZZUP_API__API_KEY=WAZZUP_API_KEY,
        SOURCES__AMOCRM__ACCESS_TOKEN=ACCESS_TOKEN,
        CHATSALES_WAZZUP_WEBHOOK_TOKEN=RECEIVER_TOKEN,
    )
    wazzup = WazzupAccount(channels=list(CHANNELS), users=list(WAZZUP_USERS))
    amocrm = Account({"users": AMOCRM_USERS, "leads": [], "contacts": []})
    with wazzup_api(wazzup) as wazzup_url, amocrm_api(amocrm) as amocrm_url:
        env.update(SOURCES__WAZZUP_API__BASE_URL=wazzup_url, SOURCES__AMOCRM__BASE_URL=amocrm_url)
        yield landing, env, wazzup


@pytest.mark.integration
def test_init_drafts_edits_survive_and_a_rerun_changes_nothing(company):
    landing, env, wazzup = company
    managers = landing / "managers.csv"

    first = chatsales_init(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert managers.read_text(encoding="utf-8").splitlines() == [
        HEADER,
        f"m01,Алексей Смирнов,501,{WA_1};{TG_1},,,Europe/Moscow,true",
        f"m02,Кузнецова Мария,502,{WA_2},,,Europe/Moscow,true",
        f"m03,Пётр Орлов,,{AV_1},,,Europe/Moscow,true",
    ]
    printed = first.stdout
    for line in [
        "✓ SOURCES__WAZZUP_API__API_KEY: works (6 channels, 3 users)",
        "✓ SOURCES__AMOCRM__ACCESS_TOKEN: works (3 users)",
        "✓ CHATSALES_WAZZUP_WEBHOOK_TOKEN: set (34 characters)",
        'Wazzup user 501 "Алексей Смирнов": the same id',
        'Wazzup user w-77 "мария  КУЗНЕЦОВА": the same name ("Кузнецова Мария" / "мария',
        f"channel {WA_1} (whatsapp 79001110001, active): wrote 3 of its 3 echoes with an author",
        f"channel {TG_1} (tgapi alexey_uyut, active): wrote 2 of its 2 echoes with an author",
        '? Wazzup user 600 "Пётр Орлов" has no CRM user',
        f"? channel {SHARED} (whatsapp 79001110000, active) is shared (echoes by user: 501 2, 5",
        f"? channel {VB_NEW} (viber 79001110009, init): no echo with an author yet",
        '- CRM user 503 "Ирина Белова": no Wazzup user, channel or echo',
    ]:
        assert line in printed, printed
    assert WAZZUP_API_KEY not in printed and ACCESS_TOKEN not in printed
    assert RECEIVER_TOKEN not in printed

    # a person decides: m01 renamed, its Telegram channel moved to m02, Пётр is not in sales,
    # m02 works from Yekaterinburg; then a new channel of Мария's shows up with her echoes
    edited = [
        HEADER,
        f"m01,Алексей Смирнов (старший),501,{WA_1},,,Europe/Moscow,true",
        f"m02,Кузнецова Мария,502,{WA_2};{TG_1},,,Asia/Yekaterinburg,true",
    ]
    managers.write_text("\n".join(edited) + "\n", encoding="utf-8")
    wazzup.channels.append(
        {"channelId": WA_3, "transport": "whatsapp", "plainId": "79001110003", "state": "active"}
    )
    more = webhook_lines({WA_3: ["502", "502"], AV_1: ["600"]}, "d2")
    (landing / "wazzup" / "2026-12-02.jsonl").write_text(more, encoding="utf-8")

    second = chatsales_init(env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert managers.read_text(encoding="utf-8").splitlines() == [
        *edited[:2],
        f"m02,Кузнецова Мария,502,{WA_2};{TG_1};{WA_3},,,Asia/Yekaterinburg,true",
    ]
    assert f"+ m02: channel {WA_3} (whatsapp 79001110003, active): wrote 2 of its 2" in (
        second.stdout
    )
    assert '"Пётр Орлов" was proposed before and is not in the file: not added again' in (
        second.stdout
    )
    assert f"channel {TG_1} stays m02's, as in the file (init would give it to m01" in (
        second.stdout
    )

    before = managers.read_bytes()
    third = chatsales_init(env)
    assert third.returncode == 0, third.stdout + third.stderr
    assert f"{managers}: unchanged" in third.stdout
    assert managers.read_bytes() == before


@pytest.mark.integration
def test_init_subscribes_the_receiver_and_says_which_secrets_fail(company):
    landing, env, wazzup = company
    receiver = Receiver(landing, "127.0.0.1", 0, RECEIVER_TOKEN).start()
    try:
        public_url = f"http://127.0.0.1:{receiver.port}"
        subscribed = chatsales_init(env, "--public-url", public_url)
    finally:
        receiver.stop()
    assert subscribed.returncode == 0, subscribed.stdout + subscribed.stderr
    assert wazzup.webhooks_uri == f"{public_url}/wazzup/{RECEIVER_TOKEN}"
    assert (
        f"✓ --public-url: Wazzup posts messages, statuses and channel updates to "
        f"{public_url}/wazzup/<CHATSALES_WAZZUP_WEBHOOK_TOKEN>"
    ) in subscribed.stdout
    assert RECEIVER_TOKEN not in subscribed.stdout + subscribed.stderr
    ping = [p for p in (landing / "wazzup").glob("*.jsonl") if '"test"' in p.read_text()]
    assert ping, "Wazzup's test POST reached the receiver and was stored"

    # nothing listens there any more: Wazzup refuses, quoting the URL, which init redacts;
    # a wrong amoCRM token is named; the run still drafts from what answered
    env["SOURCES__AMOCRM__ACCESS_TOKEN"] = "wrong-token"
    refused = chatsales_init(env, "--public-url", public_url)
    printed = refused.stdout
    assert refused.returncode == 1, printed + refused.stderr
    assert "✗ SOURCES__AMOCRM__ACCESS_TOKEN: amocrm: GET /api/v4/users: HTTP 401" in printed
    assert "✗ --public-url: wazzup api: PATCH" in printed
    assert "<CHATSALES_WAZZUP_WEBHOOK_TOKEN>" in printed.split("✗ --public-url")[1]
    assert RECEIVER_TOKEN not in printed + refused.stderr
    assert "wrong-token" not in printed + refused.stderr


@pytest.mark.integration
def test_init_reads_bitrix24_users_and_matches_a_channel_by_its_number(tmp_path):
    landing = tmp_path / "landing"
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", landing)
    users = [
        {"ID": "7", "NAME": "Алексей", "LAST_NAME": "Смирнов", "EMAIL": "a@uyut.example",
         "PERSONAL_MOBILE": "+7 (900) 111-00-01", "WORK_PHONE": "", "ACTIVE": True},
        {"ID": "9", "NAME": "Ольга", "LAST_NAME": "Ушла", "PERSONAL_MOBILE": "8 900 111 00 02",
         "ACTIVE": False},
    ]  # fmt: skip
    portal = Portal({"user.get": users, "crm.deal.list": [], "crm.contact.list": []})
    wazzup = WazzupAccount(channels=CHANNELS[:1] + CHANNELS[2:3], users=[])
    with bitrix24_webhook(portal) as webhook_url, wazzup_api(wazzup) as wazzup_url:
        env.update(SOURCES__BITRIX24__WEBHOOK_URL=webhook_url,
                   SOURCES__WAZZUP_API__API_KEY=WAZZUP_API_KEY,
                   SOURCES__WAZZUP_API__BASE_URL=wazzup_url)  # fmt: skip
        result = chatsales_init(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ SOURCES__BITRIX24__WEBHOOK_URL: works (2 users)" in result.stdout
    assert WEBHOOK_TOKEN not in result.stdout + result.stderr
    rows = (landing / "managers.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1].startswith(f"m01,Алексей Смирнов,7,{WA_1},")
    assert rows[2].startswith(f"m02,Ольга Ушла,9,{WA_2},") and rows[2].endswith(",false")
    assert "its number is theirs in the CRM" in result.stdout


@pytest.mark.unit
@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Алексей Смирнов", "Смирнов Алексей", True),
        ("Алёна Ёлкина", "алена елкина", True),
        ("Смирнов Алексей Петрович", "Алексей Смирнов", True),  # a patronymic added
        ("Мария", "Мария Кузнецова", False),  # a first name alone is never enough
        ("Мария Кузнецова", "Мария Петрова", False),
        ("Мария", "мария", True),  # each system knows only the first name: the same one
    ],
)
def test_names_match_on_their_words(a, b, same):
    assert (same_name(a, b) is not None) is same


def crm(id_: str, name: str, **kw) -> UserAccount:
    return UserAccount("amocrm", id_, name, **kw)


@pytest.mark.unit
def test_two_people_of_one_name_are_left_for_a_person():
    people = [crm("1", "Мария Иванова"), crm("2", "Мария Иванова")]
    result = draft(people, [UserAccount("wazzup", "w", "Иванова Мария")], [], {})
    assert len(result.people) == 0  # neither has chats
    assert any("could be any of" in item for item in result.to_decide)


@pytest.mark.unit
def test_echoes_and_phone_that_disagree_leave_the_channel_for_a_person():
    people = [
        crm("1", "Анна Юг"),
        UserAccount("bitrix24", "2", "Иван Север", phones=("79001110001",)),
    ]
    channel = Channel("c", "whatsapp", "+7 900 111-00-01", "active")
    result = draft(people, [], [channel], {"c": Counter({"1": 5})})
    assert [p.channels for p in result.people] == [{}]  # Анна kept for her echoes, no channel
    assert "but its number is Иван Север's" in result.to_decide[0]


@pytest.mark.unit
def test_merge_adds_only_what_nobody_decided():
    rows = [{"manager_id": "m07", "name": "Анна", "crm_user_id": "", "wazzup_channel_ids": "c1",
             "timezone": "Asia/Omsk", "active": "false"}]  # fmt: skip
    anna = Person("Анна Юг", crm_user_id="1", channels={"c1": ("", ""), "c2": ("", "echoes")})
    result = merge(rows, [anna], proposed={"wazzup_channel_id:c2"}, timezone="Europe/Moscow")
    [row] = result.rows
    assert row == rows[0] | {"crm_user_id": "1"}  # c2 was removed by a person before
    assert result.filled == [("m07", "1")] and not result.added_channels
    again = merge(result.rows, [anna], result.proposed, "Europe/Moscow")
    assert not again.changed


@pytest.mark.unit
def test_new_rows_take_the_next_free_id():
    rows = [{"manager_id": "m02"}, {"manager_id": "m03"}, {"manager_id": "lead"}]
    result = merge(rows, [Person("Новый Сотрудник", crm_user_id="9")], set(), "UTC")
    assert [m for m, _ in result.added_rows] == ["m04"]


@pytest.mark.integration
def test_init_recovers_the_demo_companys_own_map(demo_landing, tmp_path):
    """The demo's managers.csv was written by hand; from its amoCRM pages and webhooks alone,
    init drafts the same people, ids, CRM users and channels."""
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    by_hand = (landing / "managers.csv").read_text(encoding="utf-8")
    (landing / "managers.csv").unlink()
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", landing)
    result = chatsales_init(env)
    assert result.returncode == 0, result.stdout + result.stderr

    def people(text: str) -> list[tuple]:
        return [
            (r["manager_id"], r["name"], r["crm_user_id"], set(r["wazzup_channel_ids"].split(";")))
            for r in csv.DictReader(io.StringIO(text))
        ]

    drafted = (landing / "managers.csv").read_text(encoding="utf-8")
    assert people(drafted) == people(by_hand)
