"""The dashboards in Russian or English from one source.

`superset_exports/` is the bundle in English; `superset_exports/translations/ru.yaml` gives
the Russian of every visible string (`strings`) and the column a chart reads instead of an
English data column (`columns`: `reason_en: reason_ru`). `in_language` gives the bundle
of a language; with the table reversed, `as_source` turns a Russian export back into the
English source, so the table must be one-to-one.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from chatsales.core.settings import LANGUAGES

SOURCE_LANGUAGE = "en"
BUNDLE_PARTS = ("metadata.yaml", "databases", "datasets", "charts", "dashboards")
# chart params holding text shown as is (axis titles, the big number's delta suffix)
TEXT_PARAMS = ("compare_suffix", "x_axis_title", "y_axis_title", "y_axis_title_secondary")
# a label naming a sort key, never shown
IDENTIFIER = re.compile(r"[a-z0-9_]+")
# a value a dataset's SQL puts in a row (CASE … THEN 'Team'), as opposed to one it compares
SQL_OUTPUT_LITERAL = re.compile(r"\b(THEN|ELSE)(\s+)'((?:[^']|'')*)'")


@dataclass(frozen=True)
class Table:
    """Text → text and data column → data column, from the source into `language` (or,
    reversed, back into the source); `file` is the table's file."""

    language: str
    strings: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    file: str = ""

    @property
    def is_identity(self) -> bool:
        return not self.strings and not self.columns

    def reversed(self) -> Table:
        strings = {v: k for k, v in self.strings.items()}
        columns = {v: k for k, v in self.columns.items()}
        return Table(SOURCE_LANGUAGE, strings, columns, self.file)


class MissingTranslations(ValueError):
    """Visible strings the table has no entry for; the message lists exactly them, one
    `"text": ` line each, as the table writes them."""

    def __init__(self, table: Table, missing: set[str]):
        self.missing = sorted(missing)
        lines = "\n".join(f"  {json.dumps(text, ensure_ascii=False)}: " for text in self.missing)
        if table.language == SOURCE_LANGUAGE:
            what = f"are no translation in {table.file}: add their English to its `strings:`"
        else:
            what = f"have no translation in {table.file}: add them to its `strings:`"
        super().__init__(f"{len(self.missing)} strings {what}\n{lines}")


def table_path(bundle_dir: Path, language: str) -> Path:
    return Path(bundle_dir) / "translations" / f"{language}.yaml"


def load_table(bundle_dir: Path, language: str) -> Table:
    """The table turning the source into `language` (English: nothing to translate)."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
    if language == SOURCE_LANGUAGE:
        return Table(language)
    path = table_path(bundle_dir, language)
    raw = yaml.safe_load(path.read_text()) or {}
    file = path.relative_to(path.parents[1]).as_posix()
    return Table(language, raw.get("strings") or {}, raw.get("columns") or {}, file)


def secure_filename(name: str) -> str:
    """werkzeug's secure_filename, which Superset names exported files with."""
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = "_".join(name.replace("/", " ").split())
    return re.sub(r"[^A-Za-z0-9_.-]", "", name).strip("._")


class Translator:
    """Translates one bundle's objects, collecting the strings the table lacks."""

    def __init__(self, table: Table):
        self.table = table
        self.missing: set[str] = set()
        names = "|".join(re.escape(c) for c in sorted(table.columns, key=len, reverse=True))
        self._column = re.compile(rf"\b({names})\b") if names else None

    def text(self, value):
        if not isinstance(value, str) or not value.strip():
            return value
        if value not in self.table.strings:
            self.missing.add(value)
            return value
        return self.table.strings[value]

    def _replace(self, value, rename: dict[str, str]):
        """Every string (and dict key) equal to a label renamed, data columns swapped."""
        if isinstance(value, dict):
            return {self._replace(k, rename): self._replace(v, rename) for k, v in value.items()}
        if isinstance(value, list):
            return [self._replace(v, rename) for v in value]
        if isinstance(value, str):
            if value in rename:
                return rename[value]
            if self._column:
                return self._column.sub(lambda m: self.table.columns[m[1]], value)
        return value

    def translated(self, name: str, obj: dict) -> tuple[str, dict]:
        """A bundle file's name and object, translated."""
        kind = name.split("/")[0]
        if kind == "charts":
            obj = self.chart(obj)
            name = _renamed(name, obj["slice_name"], self.table)
        elif kind == "dashboards":
            obj = self.dashboard(obj)
            name = _renamed(name, obj["dashboard_title"], self.table)
        elif kind == "datasets":
            obj = self.dataset(obj)
        return name, obj

    def chart(self, chart: dict) -> dict:
        params = chart.get("params") or {}
        shown = {params[key] for key in TEXT_PARAMS if isinstance(params.get(key), str)}
        shown |= set(_labels(params))
        # a highlighted cell value ('won') is translated in the data: the rule follows it
        rules = params.get("conditional_formatting") or []
        shown |= {r["targetValue"] for r in rules if r.get("targetValue") in self.table.strings}
        rename = {text: self.text(text) for text in shown if text}
        translated = {
            **chart,
            "slice_name": self.text(chart["slice_name"]),
            "description": self.text(chart.get("description")),
            "params": self._replace(params, rename),
        }
        if chart.get("query_context"):
            query_context = self._replace(json.loads(chart["query_context"]), rename)
            translated["query_context"] = json.dumps(query_context)
        return translated

    def dashboard(self, dashboard: dict) -> dict:
        position = {}
        for key, item in dashboard["position"].items():
            if isinstance(item, dict) and "meta" in item:
                meta = dict(item["meta"])
                for name in ("text", "code", "sliceName", "sliceNameOverride"):
                    if name in meta:
                        meta[name] = self.text(meta[name])
                item = {**item, "meta": meta}
            position[key] = item
        metadata = dict(dashboard.get("metadata") or {})
        metadata["native_filter_configuration"] = [
            {**f, "name": self.text(f.get("name")), "description": self.text(f.get("description"))}
            for f in metadata.get("native_filter_configuration", [])
        ]
        return {
            **dashboard,
            "dashboard_title": self.text(dashboard["dashboard_title"]),
            "description": self.text(dashboard.get("description")),
            "position": position,
            "metadata": metadata,
        }

    def dataset(self, dataset: dict) -> dict:
        def named(item: dict) -> dict:
            return {
                **item,
                "verbose_name": self.text(item.get("verbose_name")),
                "description": self.text(item.get("description")),
            }

        def literal(match: re.Match) -> str:
            text = self.text(match[3].replace("''", "'"))
            return f"{match[1]}{match[2]}'{text.replace(chr(39), chr(39) * 2)}'"

        sql = dataset.get("sql")
        if sql:
            sql = SQL_OUTPUT_LITERAL.sub(literal, sql)
        return {
            **dataset,
            "description": self.text(dataset.get("description")),
            "sql": sql,
            "columns": [named(c) for c in self._twins_swapped(dataset.get("columns", []))],
            "metrics": [named(m) for m in dataset.get("metrics", [])],
        }

    def _twins_swapped(self, columns: list[dict]) -> list[dict]:
        """The charts read the other twin of a language pair, so it takes the names the
        one they read before had (`Reason` / `Reason (Russian)` in English become
        «Причина (по-английски)» / «Причина» in Russian), and back."""
        by_name = {column["column_name"]: column for column in columns}
        twins = {**self.table.columns, **{v: k for k, v in self.table.columns.items()}}
        names = ("verbose_name", "description")
        swapped = []
        for column in columns:
            twin = by_name.get(twins.get(column["column_name"], ""))
            swapped.append({**column, **{n: twin.get(n) for n in names}} if twin else column)
        return swapped


def visible_strings(objects: dict[str, dict]) -> set[str]:
    """Every string of the bundle's objects a person sees (what a table must translate)."""
    translator = Translator(Table("probe"))
    for name, obj in objects.items():
        translator.translated(name, obj)
    return translator.missing


def _labels(params) -> list[str]:
    """The labels of a chart's ad-hoc metrics and columns (other params name them by it)."""
    if isinstance(params, dict):
        found, label = [], params.get("label")
        if "expressionType" in params and isinstance(label, str):
            found += [] if IDENTIFIER.fullmatch(label) else [label]
        for value in params.values():
            found += _labels(value)
        return found
    if isinstance(params, list):
        return [label for value in params for label in _labels(value)]
    return []


def translate_objects(objects: dict[str, dict], table: Table) -> dict[str, dict]:
    """{bundle path: parsed YAML} translated; raises MissingTranslations listing every
    string the table lacks. Charts and dashboards keep their file names unless the title
    the name comes from changed language (then named by the new title, id kept)."""
    if table.is_identity:
        return dict(objects)
    translator = Translator(table)
    out = dict(translator.translated(name, obj) for name, obj in objects.items())
    if translator.missing:
        raise MissingTranslations(table, translator.missing)
    return out


def _renamed(name: str, title: str, table: Table) -> str:
    """Into the source (English): the file name Superset gives the English title, so an
    export of the Russian dashboards lands on the committed files; otherwise unchanged."""
    if table.language != SOURCE_LANGUAGE:
        return name
    folder, _, file = name.rpartition("/")
    object_id = file.rsplit("_", 1)[-1]
    return f"{folder}/{secure_filename(title)}_{object_id}"


def read_bundle(bundle_dir: Path) -> dict[str, dict]:
    bundle_dir = Path(bundle_dir)
    return {
        path.relative_to(bundle_dir).as_posix(): yaml.safe_load(path.read_text())
        for path in sorted(bundle_dir.rglob("*.yaml"))
        if path.relative_to(bundle_dir).parts[0] in BUNDLE_PARTS
    }


def write_bundle(objects: dict[str, dict], out_dir: Path) -> None:
    """The objects as the bundle's files (Superset's own YAML layout), replacing its parts."""
    out_dir = Path(out_dir)
    for part in BUNDLE_PARTS:
        target = out_dir / part
        if target.is_dir():
            shutil.rmtree(target)
        target.unlink(missing_ok=True)
    for name, obj in objects.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(obj, sort_keys=False))


def in_language(bundle_dir: Path, language: str) -> dict[str, dict]:
    """The source bundle's objects in `language` (MissingTranslations if the table lacks any)."""
    return translate_objects(read_bundle(bundle_dir), load_table(bundle_dir, language))


def exported_language(objects: dict[str, dict], bundle_dir: Path) -> str:
    """The language an export is in: the one its dashboards' titles are written in."""
    titles = {obj["dashboard_title"] for name, obj in objects.items() if name.startswith("dash")}
    for language in LANGUAGES:
        table = load_table(bundle_dir, language)
        if titles & set(table.strings.values()):
            return language
    return SOURCE_LANGUAGE


def as_source(objects: dict[str, dict], bundle_dir: Path) -> dict[str, dict]:
    """An export turned back into the source (English) with the reversed table."""
    language = exported_language(objects, bundle_dir)
    if language == SOURCE_LANGUAGE:
        return objects
    return translate_objects(objects, load_table(bundle_dir, language).reversed())
