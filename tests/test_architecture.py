"""The house reads one way: core → ingestion → (dbt_project) → orchestration → app.

Every import statement counts, those inside function bodies too, relative ones resolved.
Configuration is read from the environment in the settings module alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parent.parent
# a module's layer is the first prefix that matches; a layer imports only layers <= its own
LAYERS = [
    ("chatsales.core", 0),
    ("ingestion", 1),
    ("orchestration", 3),
    ("chatsales.app", 4),
]
PACKAGES = ("chatsales", "ingestion", "orchestration")
SETTINGS_MODULE = "chatsales.core.settings"
# runs inside Superset's own virtualenv, which has none of the project's modules
SUPERSET_CONFIG = "chatsales.app.superset.superset_config"


def layer_of(module: str) -> int | None:
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, wherever it stands."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            # `from pkg import module` imports pkg.module
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def backward_imports() -> list[str]:
    problems = []
    for module, path in project_modules().items():
        own = layer_of(module)
        for line, imported in imported_modules(module, path):
            target = layer_of(imported)
            if imported.split(".")[0] == "tests":
                problems.append(f"{module}:{line} imports the tests ({imported})")
            elif own is not None and target is not None and target > own:
                problems.append(
                    f"{module}:{line} (layer {own}) imports {imported} (layer {target})"
                )
            elif own is None and imported.split(".")[0] in PACKAGES:
                problems.append(f"{module}:{line} is in no layer")
    return problems


def test_every_project_module_is_in_a_layer():
    unlayered = [m for m in project_modules() if layer_of(m) is None and m != "chatsales"]
    assert unlayered == []


def test_imports_run_one_way():
    assert backward_imports() == []


def test_the_core_imports_nothing_else_from_the_project():
    core = {m: p for m, p in project_modules().items() if layer_of(m) == 0}
    assert core, "no core modules found"
    outside = [
        f"{module}:{line} {imported}"
        for module, path in core.items()
        for line, imported in imported_modules(module, path)
        if imported.split(".")[0] in PACKAGES and layer_of(imported) != 0
    ]
    assert outside == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    source = "def f():\n    from orchestration.runner import run_pipeline\n"
    path = tmp_path / "x.py"
    path.write_text(source)
    assert imported_modules("ingestion.x", path) == [(2, "orchestration.runner.run_pipeline")]


def environment_reads(path: Path) -> list[int]:
    """Lines that read os.environ / os.getenv (writing, copying and handing on don't count)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _reads_environment(node)
    ]


def _reads_environment(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "getenv"
    if isinstance(node, ast.Call):
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in ("get", "pop")
            and _is_os_environ(func.value)
        )
    if isinstance(node, ast.Subscript):
        return isinstance(node.ctx, ast.Load) and _is_os_environ(node.value)
    return False


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def test_only_the_settings_module_reads_the_environment():
    readers = [
        f"{module}:{line}"
        for module, path in project_modules().items()
        if module not in (SETTINGS_MODULE, SUPERSET_CONFIG)
        for line in environment_reads(path)
    ]
    assert readers == []


@pytest.mark.parametrize(
    "source",
    [
        'import os\nx = os.environ.get("A")',
        'import os\nx = os.environ["A"]',
        "import os\nos.getenv('A')",
    ],
)
def test_the_check_sees_each_way_of_reading_the_environment(tmp_path, source):
    path = tmp_path / "x.py"
    path.write_text(source)
    assert environment_reads(path) == [2]
