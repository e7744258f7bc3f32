"""`chatsales import whatsapp|telegram FILE --manager ID`: check a chat export a manager sent,
then copy it into the landing layout where the next run loads it."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ingestion.directory import ManagerDirectory


class ImportRejected(ValueError):
    """The file cannot be loaded at all; nothing was copied."""


@dataclass
class ImportReport:
    target: Path
    messages: int
    quarantined: int
    already_imported: bool


def _manager_settings(landing: Path, manager_id: str) -> tuple[str, set[str], bool]:
    """(timezone, telegram user ids, is a known manager) from managers.csv."""
    directory = ManagerDirectory.read(landing / "managers.csv")
    user_ids = directory.identities_of("telegram_user_id").get(manager_id, set())
    return directory.timezone(manager_id), user_ids, manager_id in directory.managers


def _check_whatsapp(path: Path, manager_id: str, timezone: str) -> tuple[int, int]:
    from ingestion.whatsapp.parser import UndecidableDateOrder, parse_export

    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        parsed = parse_export(text, path.name, f"{manager_id}:{path.stem}", timezone)
    except UndecidableDateOrder as exc:
        raise ImportRejected(str(exc)) from exc
    return len(parsed.messages), len(parsed.rejected)


def _check_telegram(path: Path, manager_id: str, timezone: str, user_ids: set[str]):
    from ingestion.telegram.parser import parse_export

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRejected(f"{path}: not a Telegram Desktop JSON export ({exc})") from exc
    if not isinstance(data, dict) or not ({"messages", "chats"} & data.keys()):
        raise ImportRejected(f"{path}: no 'messages' or 'chats': not a Telegram export")
    parsed = parse_export(data, path.name, manager_id, user_ids, timezone)
    return len(parsed.messages), len(parsed.rejected)


def import_export(kind: str, file: Path, manager_id: str, landing: Path) -> ImportReport:
    """Validate `file` and copy it to `<landing>/<kind>/<manager_id>/`."""
    if not file.is_file():
        raise ImportRejected(f"{file}: no such file")
    timezone, user_ids, known = _manager_settings(landing, manager_id)
    if not known:
        raise ImportRejected(f"manager {manager_id!r} is not in {landing / 'managers.csv'}")
    if kind == "whatsapp":
        messages, quarantined = _check_whatsapp(file, manager_id, timezone)
        name = file.name
    else:
        messages, quarantined = _check_telegram(file, manager_id, timezone, user_ids)
        # every Telegram export is called result.json: keep each one under its own name
        digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        name = f"{file.stem}-{digest}.json"
    if messages == 0:
        raise ImportRejected(f"{file}: no messages found")
    target = landing / kind / manager_id / name
    already = target.is_file() and target.read_bytes() == file.read_bytes()
    if not already:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(file, partial)
        partial.replace(target)  # the loader never sees a half-copied file
    return ImportReport(target, messages, quarantined, already)
