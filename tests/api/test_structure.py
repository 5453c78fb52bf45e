"""The API's layout: no import circles inside `cryptopredict/api`; the serving objects
(`cryptopredict.api.serving`) and the answers' types (`cryptopredict.api.types`) import neither
Flask nor the training side; nothing in the API
imports `cryptopredict.model` or `cryptopredict.data`.

Imports are read from the source, every one of them: at the top, under TYPE_CHECKING and inside
functions, so that an import moved into a function to dodge a circle is still seen.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.imports import python_prints

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "cryptopredict"
API = "cryptopredict.api"
SERVING = "cryptopredict.api.serving"
FLASK_FREE = (SERVING, "cryptopredict.api.types")
TRAINING_SIDE = ("cryptopredict.model", "cryptopredict.training", "cryptopredict.data")
NOT_FOR_SERVING = ("flask", "werkzeug", "flask_cors", "pandas", "prophet")


def module_name(file: Path) -> str:
    parts = file.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(file: Path) -> Iterator[str]:
    """Every module `file` imports: `from package import module` names the module."""
    here = module_name(file)
    package = here if file.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield child if is_module(child) else base


@cache
def import_graph() -> dict[str, set[str]]:
    """Each module of the `cryptopredict` package and the modules it imports."""
    return {
        module_name(file): set(imported(file))
        for file in sorted(PACKAGE.rglob("*.py"))
        if ".venv" not in file.parts
    }


def cycles(graph: dict[str, set[str]], inside: str) -> list[list[str]]:
    """The import circles among the modules under `inside`, each as the path that closes it."""
    nodes = {name for name in graph if name == inside or name.startswith(f"{inside}.")}
    found: list[list[str]] = []
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name] & nodes):
            if state.get(target) == "open":
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in sorted(nodes):
        if name not in state:
            visit(name, [name])
    return found


def reachable(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module `start` imports, directly or not, with the module that imports it."""
    by: dict[str, str] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        for target in graph.get(name, ()):
            if target not in by and target != start:
                by[target] = name
                todo.append(target)
    return by


def chain(by: dict[str, str], start: str, end: str) -> str:
    links = [end]
    while links[-1] != start:
        links.append(by[links[-1]])
    return " -> ".join(reversed(links))


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def test_no_import_circle_inside_the_api():
    circles = cycles(import_graph(), API)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_the_circle_finder_finds_a_circle():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c", "flask"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph, "p") == [["p.a", "p.b", "p.c", "p.a"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}, "p") == []


def serving_modules() -> list[str]:
    return [name for name in import_graph() if under(name, FLASK_FREE)]


@pytest.mark.parametrize("module", serving_modules())
def test_the_serving_objects_import_no_flask_and_no_training_side(module):
    graph = import_graph()
    by = reachable(graph, module)
    bad = [name for name in by if under(name, TRAINING_SIDE + NOT_FOR_SERVING)]
    assert not bad, "; ".join(chain(by, module, name) for name in bad)


@pytest.mark.parametrize("module", [name for name in import_graph() if under(name, (API,))])
def test_the_api_never_imports_the_training_side(module):
    by = reachable(import_graph(), module)
    bad = [name for name in by if under(name, TRAINING_SIDE)]
    assert not bad, "; ".join(chain(by, module, name) for name in bad)


LOADED = """
import sys
for name in sys.argv[1:]:
    __import__(name)
print(" ".join(sorted(sys.modules)))
"""


def test_importing_the_serving_objects_loads_no_flask_and_no_training_side():
    """What Python really loads, third-party packages' own imports included."""
    loaded = python_prints(LOADED, *serving_modules()).split()
    assert SERVING in loaded
    assert not [name for name in loaded if under(name, TRAINING_SIDE + NOT_FOR_SERVING)]
