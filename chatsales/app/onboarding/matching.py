"""One person per row of managers.csv, matched across the CRM, Wazzup's users and its
channels. Every match carries its reason; what cannot be decided safely is listed for a person.

- A Wazzup user whose id is a CRM user's id is that user: Wazzup's CRM integration creates
  its users with the CRM's ids, and an echo's `authorId` is that id too.
- Otherwise names match when they hold the same words, in any order, case and ё/е aside
  ("Смирнов Алексей" = "алексей смирнов"), or when one adds words to the other's two or more
  (a patronymic). A first name alone is never enough.
- A channel belongs to whoever wrote at least OWNER_SHARE of the echoes with an author it has
  delivered so far, or to the one user whose phone is its number.
- Two CRMs' users are one person when their email or name is the same; the CRM user id kept is
  the first CRM's (managers.csv holds one).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from ingestion.phones import normalize_phone

from .accounts import Channel, UserAccount

OWNER_SHARE = 0.8


def name_words(name: str) -> frozenset[str]:
    text = unicodedata.normalize("NFKC", name).casefold().replace("ё", "е")
    return frozenset(re.findall(r"[^\W\d_]+", text))


def same_name(a: str, b: str) -> str | None:
    """Why two names are one person's, or None."""
    words_a, words_b = name_words(a), name_words(b)
    if len(words_a) < 2 or len(words_b) < 2:  # a first name alone: only the very same
        return "the same name" if words_a and words_a == words_b else None
    if words_a == words_b:
        return "the same name" if a == b else f'the same name ("{a}" / "{b}")'
    if words_a < words_b or words_b < words_a:
        return f'the same name, one with more words ("{a}" / "{b}")'
    return None


@dataclass
class Person:
    """A drafted row: who, from which accounts, with which channels, and why."""

    name: str
    crm_user_id: str | None = None
    crm: str | None = None  # the system of crm_user_id
    wazzup_user_id: str | None = None
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    active: bool = True
    reasons: list[str] = field(default_factory=list)  # how the accounts were matched
    # by channel id: the channel as people know it, and why it is theirs
    channels: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def author_id(self) -> str | None:
        """The id an echo's `authorId` carries for this person."""
        return self.crm_user_id or self.wazzup_user_id

    @property
    def key(self) -> str:
        return f"crm:{self.crm_user_id}" if self.crm_user_id else f"wazzup:{self.wazzup_user_id}"


@dataclass
class Draft:
    people: list[Person]
    to_decide: list[str]  # each a sentence a person can act on
    left_out: list[str]  # CRM users with no chats, and why


def draft(
    crm_users: list[UserAccount],
    wazzup_users: list[UserAccount],
    channels: list[Channel],
    authors: dict[str, Counter[str]],
) -> Draft:
    result = Draft([], [], [])
    for user in crm_users:
        _add_crm_user(result, user)
    for user in wazzup_users:
        _add_wazzup_user(result, user)
    for channel in channels:
        _assign_channel(result, channel, authors.get(channel.id, Counter()))
    _leave_out_people_with_no_chats(result, authors)
    return result


def _add_crm_user(result: Draft, user: UserAccount) -> None:
    email = (user.email or "").strip().casefold()
    for person in (p for p in result.people if p.crm not in (None, user.system)):
        why = "the same email" if email and email in person.emails else None
        if why := why or same_name(person.name, user.name):
            person.reasons.append(f"{user.describe()}: {why} (one CRM user id per row: not kept)")
            break
    else:
        person = Person(user.name, crm_user_id=user.id, crm=user.system, active=user.active)
        person.reasons.append(user.describe())
        result.people.append(person)
    person.emails.update({email} - {""})
    person.phones.update(user.phones)


def _add_wazzup_user(result: Draft, user: UserAccount) -> None:
    by_id = [p for p in result.people if p.crm_user_id == user.id]
    if by_id:
        by_id[0].wazzup_user_id = user.id
        by_id[0].reasons.append(f"{user.describe()}: the same id (Wazzup users carry the CRM's)")
        return
    named = [(p, why) for p in result.people if (why := same_name(p.name, user.name))]
    if len(named) == 1 and named[0][0].wazzup_user_id is None:
        person, why = named[0]
        person.wazzup_user_id = user.id
        person.reasons.append(f"{user.describe()}: {why}")
        return
    if named:  # two people of that name, or one already matched to another Wazzup user
        names = ", ".join(f'"{p.name}"' for p, _ in named)
        result.to_decide.append(
            f"{user.describe()} could be any of {names}: put it in the right row's "
            "crm_user_id if it is a CRM user, or leave it"
        )
        return
    person = Person(user.name, wazzup_user_id=user.id)
    person.reasons.append(f"{user.describe()}: no CRM user with that id or name")
    result.people.append(person)
    if any(p.crm_user_id for p in result.people):
        result.to_decide.append(
            f"{user.describe()} has no CRM user: fill in crm_user_id if they have one"
        )


def _assign_channel(result: Draft, channel: Channel, authors: Counter[str]) -> None:
    by_author = {p.author_id: p for p in result.people if p.author_id}
    owner, why = None, None
    written = sum(authors.values())
    if written:
        top, count = authors.most_common(1)[0]
        if count / written >= OWNER_SHARE and top in by_author:
            owner, why = by_author[top], f"wrote {count} of its {written} echoes with an author"
        elif count / written >= OWNER_SHARE:
            result.to_decide.append(
                f"{channel.describe()}: {count} of {written} echoes were written by user {top}, "
                "whom neither the CRM nor Wazzup lists: add its id to its owner's row"
            )
            return
        else:
            shares = ", ".join(f"{author} {n}" for author, n in authors.most_common())
            result.to_decide.append(
                f"{channel.describe()} is shared (echoes by user: {shares}): add its id to the "
                "row of whoever answers its clients"
            )
            return
    phone = normalize_phone(channel.plain_id)
    holders = [p for p in result.people if phone and phone in p.phones]
    if len(holders) == 1 and owner not in (None, holders[0]):
        result.to_decide.append(
            f"{channel.describe()}: {owner.name} {why}, but its number is {holders[0].name}'s: "
            "add its id to the right row"
        )
        return
    if len(holders) == 1:
        reason = f"its number is theirs in the CRM{f'; {why}' if why else ''}"
        owner, why = holders[0], reason
    if owner is None:
        result.to_decide.append(
            f"{channel.describe()}: no echo with an author yet and no user with its number: "
            "add its id to its manager's wazzup_channel_ids (or run init again after a day "
            "of webhooks)"
        )
        return
    owner.channels[channel.id] = (channel.describe(), why)


def _leave_out_people_with_no_chats(result: Draft, authors: dict[str, Counter[str]]) -> None:
    wrote = {author for counts in authors.values() for author in counts}
    kept = []
    for person in result.people:
        if person.channels or person.wazzup_user_id or person.author_id in wrote:
            kept.append(person)
        else:
            result.left_out.append(
                f'CRM user {person.crm_user_id} "{person.name}": no Wazzup user, channel or '
                "echo: not a messenger manager (add a row yourself if they are)"
            )
    result.people = kept
