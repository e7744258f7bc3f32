"""Who is who: managers with their Wazzup channels, and clients with their chats."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from . import texts
from .stories import DUAL_CHANNEL_SHARE, PROFILES, Profile

CRM_USER_BASE = 8100000
CONTACT_ID_BASE = 4000000
AVATAR = "https://store.wazzup24.com/avatar-placeholder"
UNIQUE_DRAWS = 50  # random draws for a unique value before a numbered suffix decides
TRANSPORT_LABELS = {
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "viber": "Viber",
    "instagram": "Instagram",
}


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class Channel:
    id: str
    transport: str
    manager_id: str


@dataclass
class Manager:
    profile: Profile
    crm_user_id: int
    telegram_user_id: str
    channels: list[Channel] = field(default_factory=list)

    @property
    def manager_id(self) -> str:
        return self.profile.manager_id

    @property
    def name(self) -> str:
        return self.profile.name


@dataclass(slots=True)
class Client:
    contact_id: int
    name: str
    latin: str
    phone: str


@dataclass(slots=True)
class Chat:
    channel: Channel
    chat_id: str
    client: Client
    contact: dict[str, str]
    last_ms: int = 0


def build_managers(rng: random.Random) -> list[Manager]:
    managers = []
    for i, profile in enumerate(PROFILES, start=1):
        manager = Manager(profile, CRM_USER_BASE + i, str(rng.randrange(10**9, 7 * 10**9)))
        for transport in profile.transports:
            manager.channels.append(Channel(new_uuid(rng), transport, profile.manager_id))
        managers.append(manager)
    return managers


class People:
    """Makes unique clients and chats; remembers phone clients for the dual-channel story."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.clients: list[Client] = []
        self.phone_clients: list[Client] = []
        self.suffixes: dict[str, int] = {}  # the last numbered suffix given to a value

    def _unique(self, make: Callable[[], str]) -> str:
        """A value of `make()` nobody has yet. After UNIQUE_DRAWS taken values (a value space
        filling up, e.g. the 100 usernames of one name at a large scale), a numbered suffix
        makes it unique: drawing on would never end once the space is full."""
        value = make()
        draws = 1
        while value in self.used and draws < UNIQUE_DRAWS:
            value = make()
            draws += 1
        base = value
        while value in self.used:
            self.suffixes[base] = self.suffixes.get(base, 0) + 1
            value = f"{base}_{self.suffixes[base]}"
        self.used.add(value)
        return value

    def new_client(self) -> Client:
        rng = self.rng
        first, first_lat = rng.choice(texts.FIRST_NAMES_F + texts.FIRST_NAMES_M)
        name, latin = first, first_lat
        if rng.random() < 0.5:
            surname, surname_lat = rng.choice(texts.SURNAMES)
            female = (first, first_lat) in texts.FIRST_NAMES_F
            name = f"{first} {surname}{'а' if female else ''}"
            latin = f"{first_lat}_{surname_lat}{'a' if female else ''}"
        phone = self._unique(lambda: f"79{rng.randrange(10**9):09d}")
        client = Client(CONTACT_ID_BASE + len(self.clients) + 1, name, latin, phone)
        self.clients.append(client)
        return client

    def new_chat(self, channel: Channel) -> Chat:
        rng = self.rng
        if (
            channel.transport == "telegram"
            and self.phone_clients
            and (rng.random() < DUAL_CHANNEL_SHARE)
        ):
            client = rng.choice(self.phone_clients)  # same person, second messenger
            dual = True
        else:
            client, dual = self.new_client(), False
        if channel.transport in ("whatsapp", "viber"):
            self.phone_clients.append(client)
            contact = {"name": client.name}
            if rng.random() < 0.7:
                contact["avatarUri"] = AVATAR
            return Chat(channel, client.phone, client, contact)
        if channel.transport == "telegram":
            chat_id = self._unique(lambda: str(rng.randrange(10**9, 8 * 10**9)))
            contact = {"name": client.name.split()[0]}
            if rng.random() < 0.5:
                contact["username"] = self._unique(lambda: f"{client.latin}{rng.randrange(100)}")
            if dual or rng.random() < 0.25:
                contact["phone"] = client.phone
            return Chat(channel, chat_id, client, contact)
        username = self._unique(lambda: f"{client.latin}.{rng.randrange(1000)}")
        return Chat(channel, username, client, {"name": username, "avatarUri": AVATAR})
