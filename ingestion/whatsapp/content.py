"""What a WhatsApp message body is: text, a media/file placeholder, a deletion, a call or a
system notice (English and Russian exports, Android and iOS spellings)."""

from __future__ import annotations

import re
from dataclasses import dataclass

LRM = "\u200e"  # iOS writes it before `[` and before placeholders; Android before file names

EDITED = re.compile(
    r"\s*<(?:This message was edited|Сообщение изменено|Это сообщение было изменено)>\s*$"
)
MEDIA = re.compile(
    r"<Media omitted>|<Без медиафайлов>|null"
    r"|(?:image|video|audio|sticker|GIF|document|Contact card) omitted"
    r"|(?:изображение|видео|аудиофайл|аудио|стикер|GIF|документ|карточка контакта) отсутствует",
    re.IGNORECASE,
)
DELETED = re.compile(
    r"(?:This message was deleted|You deleted this message|Данное сообщение удалено"
    r"|Это сообщение было удалено|Вы удалили данное сообщение|Вы удалили это сообщение)\.?",
    re.IGNORECASE,
)
CALL = re.compile(
    r"(?:Missed (?:voice|video|group voice|group video) call"
    r"|Пропущенный (?:аудиозвонок|видеозвонок|групповой аудиозвонок|групповой видеозвонок))"
    r"(?:, .*)?",
    re.IGNORECASE,
)
FILE = re.compile(r"(?P<name>.+?) \((?:file attached|файл добавлен)\)")
ATTACHED = re.compile(r"(?P<caption>.*?)\s*<(?:attached|прикреплено): (?P<name>[^>]+)>")
ATTACHED_MEDIA = re.compile(r"PHOTO|VIDEO|AUDIO|STICKER|GIF|\.(?:jpe?g|png|webp|mp4|opus)$", re.I)
ENCRYPTION = re.compile(r"end-to-end encrypted|сквозным шифрованием", re.IGNORECASE)
# iOS writes group/chat events as lines "authored" by the chat name, text after U+200E
IOS_SYSTEM = re.compile(
    r"end-to-end encrypted|security code|created (?:group|this group)|added|removed|left$"
    r"|changed (?:the|this|their|to)|joined|is a contact|disappearing|blocked"
    r"|шифровани|код безопасности|создал|добавил|удалил|вышел|изменил|присоедин|исчезающ",
    re.IGNORECASE,
)
CREATED_GROUP = re.compile(
    r"(?:created group|создал\(а\) группу|создали группу|создал группу) [\"«“](?P<name>.+)[\"»”]"
)


@dataclass(frozen=True)
class Body:
    message_type: str  # text | media | deleted | call | system | file
    text: str | None
    is_deleted: bool = False
    is_edited: bool = False

    @property
    def is_system(self) -> bool:
        return self.message_type in ("system", "call")


def classify(raw: str) -> Body:
    """The kind of a message body; placeholders leave no text (a file keeps its name)."""
    text = raw.replace(LRM, "").strip()
    edited = EDITED.search(text)
    if edited:
        text = text[: edited.start()].rstrip()
    is_edited = bool(edited)
    first, _, rest = text.partition("\n")
    if MEDIA.fullmatch(text):
        return Body("media", None, is_edited=is_edited)
    if DELETED.fullmatch(text):
        return Body("deleted", None, is_deleted=True, is_edited=is_edited)
    if CALL.fullmatch(text):
        return Body("call", text, is_edited=is_edited)
    if match := FILE.fullmatch(first):
        return Body(
            "file", "\n".join(filter(None, [match["name"].strip(), rest])), False, is_edited
        )
    if match := ATTACHED.fullmatch(first):
        kind = "media" if ATTACHED_MEDIA.search(match["name"]) else "file"
        caption = "\n".join(filter(None, [match["caption"].strip(), rest])) or None
        return Body(kind, caption if kind == "media" else match["name"], False, is_edited)
    return Body("text", text, is_edited=is_edited)


def is_ios_system(raw: str, author: str, chat_name: str | None) -> bool:
    """An iOS line whose "author" is the chat itself: the encryption notice, group events."""
    if not raw.lstrip().startswith(LRM):
        return False
    if ENCRYPTION.search(raw):
        return True
    body = classify(raw)
    return body.message_type == "text" and author == chat_name and bool(IOS_SYSTEM.search(raw))
