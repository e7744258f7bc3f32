"""One source bundle in English, a Russian bundle generated from it and
superset_exports/translations/ru.yaml: complete, no English left, one-to-one, deterministic."""

from __future__ import annotations

import argparse
import json
import re
import shutil

import pytest
import yaml
from pydantic import ValidationError

from chatsales.app.superset import commands, language
from chatsales.core.settings import Settings

from .support.language_check import CYRILLIC, english_words
from .support.superset_server import BUNDLE, edited_bundle


@pytest.fixture(scope="module")
def source() -> dict[str, dict]:
    return language.read_bundle(BUNDLE)


@pytest.fixture(scope="module")
def table() -> language.Table:
    return language.load_table(BUNDLE, "ru")


@pytest.fixture(scope="module")
def russian(source, table) -> dict[str, dict]:
    return language.translate_objects(source, table)


@pytest.mark.unit
def test_every_visible_string_of_the_source_has_a_russian_translation(source, table):
    try:
        language.translate_objects(source, table)
    except language.MissingTranslations as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.mark.unit
def test_the_table_translates_only_strings_the_source_shows(source, table):
    assert set(table.strings) - language.visible_strings(source) == set()


@pytest.mark.unit
def test_the_source_bundle_is_in_english_only(source):
    russian_text = [
        name for name, obj in source.items() if CYRILLIC.search(json.dumps(obj, ensure_ascii=False))
    ]
    assert russian_text == []


@pytest.mark.unit
def test_the_russian_bundle_shows_no_english(russian):
    english = {
        text: words for text in language.visible_strings(russian) if (words := english_words(text))
    }
    assert english == {}


@pytest.mark.unit
def test_the_table_is_one_to_one_and_translating_back_gives_the_source(source, table, russian):
    assert len(set(table.strings.values())) == len(table.strings)
    assert len(set(table.columns.values())) == len(table.columns)
    assert not set(table.strings.values()) & set(table.strings)
    assert language.translate_objects(russian, table.reversed()) == source


@pytest.mark.unit
def test_charts_read_english_data_columns_that_have_a_russian_twin(source, table):
    charts = json.dumps([obj for name, obj in source.items() if name.startswith("charts/")])
    english = set(re.findall(r"\b\w+_en\b", charts))
    assert english <= set(table.columns)
    assert not set(re.findall(r"\b\w+_ru\b", charts))
    datasets = [obj for name, obj in source.items() if name.startswith("datasets/")]
    columns = {column["column_name"] for d in datasets for column in d["columns"]}
    assert {*table.columns, *table.columns.values()} <= columns


@pytest.mark.unit
def test_the_russian_anomaly_table_reads_the_russian_reason(russian):
    (chart,) = [o for n, o in russian.items() if n.startswith("charts/Which_managers_were_off")]
    assert "reason_ru" in chart["params"]["groupby"] and "reason_en" not in chart["params"]
    query = json.loads(chart["query_context"])["queries"][0]
    assert "reason_ru" in query["columns"] and "Факт" in json.dumps(query, ensure_ascii=False)
    (dataset,) = [o for n, o in russian.items() if n.startswith("datasets/chatsales/mart_anom")]
    names = {c["column_name"]: c["verbose_name"] for c in dataset["columns"]}
    assert (names["reason_ru"], names["reason_en"]) == ("Причина", "Причина (по-английски)")


@pytest.mark.unit
def test_generating_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):  # as `chatsales superset import` generates it
        language.write_bundle(language.in_language(BUNDLE, "ru"), out)
    files = sorted(p.relative_to(first) for p in first.rglob("*.yaml"))
    assert files == sorted(p.relative_to(second) for p in second.rglob("*.yaml"))
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


@pytest.mark.unit
def test_a_missing_translation_is_named_exactly(tmp_path):
    edited = tmp_path / "bundle"
    shutil.copytree(BUNDLE, edited)
    path = sorted((edited / "charts").glob("*.yaml"))[0]
    chart = yaml.safe_load(path.read_text())
    chart["slice_name"] = "A chart someone added"
    chart["params"]["y_axis_title"] = "Deals"
    path.write_text(yaml.safe_dump(chart, sort_keys=False))
    with pytest.raises(language.MissingTranslations) as missing:
        language.in_language(edited, "ru")
    assert missing.value.missing == ["A chart someone added", "Deals"]
    assert str(missing.value).splitlines()[1:] == ['  "A chart someone added": ', '  "Deals": ']


@pytest.mark.unit
def test_an_export_is_named_and_turned_back_into_the_source(source, russian, table):
    """Superset names exported files by their titles: a Russian chart lands on its file."""
    renamed = {
        f"{name.rsplit('/', 1)[0]}/{'_' + name.rsplit('_', 1)[1]}"
        if name.startswith(("charts/", "dashboards/"))
        else name: obj
        for name, obj in russian.items()
    }
    assert language.exported_language(renamed, BUNDLE) == "ru"
    assert language.as_source(renamed, BUNDLE) == source
    assert language.as_source(source, BUNDLE) is source


@pytest.mark.unit
def test_the_language_setting_and_the_flag():
    assert Settings.from_environ({}).language == "ru"
    assert Settings.from_environ({"CHATSALES_LANGUAGE": "EN"}).language == "en"
    with pytest.raises(ValidationError, match="language"):
        Settings.from_environ({"CHATSALES_LANGUAGE": "de"})
    parser = argparse.ArgumentParser()
    commands.add_parser(parser.add_subparsers())
    assert parser.parse_args(["superset", "import"]).language is None
    assert parser.parse_args(["superset", "import", "--language", "en"]).language == "en"


@pytest.mark.unit
def test_import_refuses_a_bundle_with_a_missing_translation(tmp_path, capsys):
    """Before reaching Superset: exit code 2 and the strings to add, one line each."""
    edited, _ = edited_bundle(tmp_path, "dashboards", dashboard_title="A new dashboard")
    env = {
        "CHATSALES_SUPERSET_ADMIN_USER": "admin",
        "CHATSALES_SUPERSET_ADMIN_PASSWORD": "unused",
        "CHATSALES_SUPERSET_URL": "http://127.0.0.1:9",  # nothing listens: never asked
        "CHATSALES_WAREHOUSE": f"duckdb:///{tmp_path}/w.duckdb",
        "SUPERSET_HOME": str(tmp_path / "superset"),
    }
    args = argparse.Namespace(bundle=edited, language="ru")
    assert commands.cmd_import(env, args) == 2
    assert capsys.readouterr().out.splitlines()[-1] == '  "A new dashboard": '
