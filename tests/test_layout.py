"""The package's shape: modules small enough to read in one sitting, and the artifact's schema
at the bottom of the drawing, importing nothing else of cryptopredict."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

from tests.imports import imported_modules, python_prints

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "cryptopredict"
MAX_LINES = 500
SCHEMA = PACKAGE / "artifact" / "schema.py"


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_module_is_longer_than_500_lines():
    too_long = {
        str(path.relative_to(ROOT)): lines(path)
        for path in PACKAGE.rglob("*.py")
        if lines(path) > MAX_LINES
    }
    assert not too_long


def test_the_artifact_schema_imports_nothing_of_cryptopredict():
    found = imported_modules(SCHEMA)
    assert found, "the import reader read nothing"
    assert not [name for name in found if name.split(".")[0] == "cryptopredict"]


def test_importing_the_schema_loads_nothing_else_of_cryptopredict_and_no_numpy():
    """What Python really loads: the package's `__init__` runs too, so it must stay empty."""
    loaded = python_prints("import sys, cryptopredict.artifact.schema; print(*sys.modules)").split()
    ours = {name for name in loaded if name.split(".")[0] == "cryptopredict"}
    assert ours == {"cryptopredict", "cryptopredict.artifact", "cryptopredict.artifact.schema"}
    assert "numpy" not in loaded


ORCHESTRATION = ("cryptopredict.training", "dask", "distributed")


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def reached(start: str) -> dict[str, str]:
    """Every module `start` imports, directly or through modules of the package, each with the
    chain of imports that reaches it (every import counts, also one inside a function)."""
    files = {module_of(path): path for path in PACKAGE.rglob("*.py")}
    chains = {start: start}
    todo = [start]
    while todo:
        name = todo.pop()
        for target in imported_modules(files[name]):
            if target not in chains:
                chains[target] = f"{chains[name]} -> {target}"
                if target in files:
                    todo.append(target)
    return chains


@pytest.mark.parametrize(
    "module", sorted(module_of(path) for path in (PACKAGE / "model").rglob("*.py"))
)
def test_the_training_numerics_import_no_dask_and_no_orchestration(module):
    bad = [chain for name, chain in reached(module).items() if under(name, ORCHESTRATION)]
    assert not bad


def test_the_check_sees_an_import_of_the_orchestration():
    assert [name for name in reached("cryptopredict.training.graph") if under(name, ORCHESTRATION)]


# The arrows that must never be drawn: nothing under the first imports anything under the
# second, directly or through other modules of the package (every import counts).
FORBIDDEN = [
    # The artifact is the contract below both training and serving: bar intervals and candles
    # (`candles.py`) build on its schema, never the other way round.
    ("cryptopredict.artifact", "cryptopredict.candles"),
    # The API reads the feed's database (`minutes/`), never the feed's package (its writer):
    # api.py, which runs both, wires them.
    ("cryptopredict.api", "cryptopredict.collect"),
    # The feed polls exchanges: nothing of the training data stage (nor pandas through it), and
    # nothing of the API.
    ("cryptopredict.collect", "cryptopredict.data"),
    ("cryptopredict.collect", "cryptopredict.api"),
    # The database the feed and the API share imports neither of them.
    ("cryptopredict.minutes", "cryptopredict.collect"),
    ("cryptopredict.minutes", "cryptopredict.api"),
    # Training issues the track record from the artifact, as the API answers (training/record.py).
    ("cryptopredict.training", "cryptopredict.api"),
    # Serving builds the answers' types; the types never import serving.
    ("cryptopredict.api.types", "cryptopredict.api.serving"),
]


def package_modules(prefix: str) -> list[str]:
    return sorted(name for name in map(module_of, PACKAGE.rglob("*.py")) if under(name, (prefix,)))


@pytest.mark.parametrize(("source", "target"), FORBIDDEN)
def test_no_arrow_runs_the_wrong_way(source, target):
    modules = package_modules(source)
    assert modules, f"no module under {source}"
    bad = [
        chain
        for module in modules
        for name, chain in reached(module).items()
        if under(name, (target,))
    ]
    assert not bad


def test_the_arrow_check_follows_imports_through_other_modules():
    """The market routes reach the passwords' redaction, which they do not import, through the
    minute store."""
    assert "cryptopredict.logs" not in imported_modules(PACKAGE / "api" / "market.py")
    assert "cryptopredict.logs" in reached("cryptopredict.api.market")


def unit_of(module: str) -> str:
    """The part of the package `module` belongs to: its sub-package, or its own top-level
    module (`cryptopredict.candles`)."""
    return ".".join(module.split(".")[:2])


def module_itself(module: str) -> str:
    return module


@pytest.mark.parametrize("part", [unit_of, module_itself])
def test_the_package_s_parts_and_modules_import_one_another_without_a_circle(part):
    """Also an import only for type checking: two modules that need each other are one."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        unit = part(module_of(path))
        targets = {part(name) for name in imported_modules(path) if under(name, ("cryptopredict",))}
        ancestors = {".".join(unit.split(".")[:n]) for n in range(1, unit.count(".") + 1)}
        graph.setdefault(unit, set()).update(targets - {unit, *ancestors})
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"the package imports in a circle: {error.args[1]}")


def test_the_circle_check_sees_a_circle():
    graph = {"cryptopredict.a": {"cryptopredict.b"}, "cryptopredict.b": {"cryptopredict.a"}}
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter(graph).static_order())


# Facts that once had two definitions: each is assigned in exactly one module.
ONCE = ("SOURCE_NAMES", "PRICES", "UNIT_SECONDS", "DEFAULT_COUNT", "QUERY_PATTERN")


def module_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


@pytest.mark.parametrize("name", ONCE)
def test_a_fact_is_defined_once(name):
    where = [
        str(path.relative_to(ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if name in module_level_names(path)
    ]
    assert len(where) == 1, where


def test_each_class_name_is_defined_once():
    """Issue 63, bar 1: no twins (a name defined twice under cryptopredict/, Python or the
    dashboard's JavaScript), so a name says which concept it is."""
    defined: dict[str, list[str]] = {}
    for path in sorted((ROOT / "cryptopredict").rglob("*")):
        if path.suffix not in (".py", ".js") or "vendor" in path.parts:
            continue
        for name in re.findall(r"^class (\w+)", path.read_text(), re.MULTILINE):
            defined.setdefault(name, []).append(str(path.relative_to(ROOT)))
    twins = {name: where for name, where in defined.items() if len(where) > 1}
    assert twins == {}


# The map of the tree in `docs/development.md`: every module named in its folder's line.
DEVELOPMENT = ROOT / "docs" / "development.md"
MAPPED = (PACKAGE, ROOT / "tools")
ENTRY_POINTS = ("__init__.py", "__main__.py")


def layout_lines(text: str) -> dict[str, str]:
    """Each folder's line in the Layout section: the table row that starts with the folder; the
    package's own modules are in the paragraph that starts with "Beside them"."""
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    lines = dict(re.findall(r"^\| `([\w/]+/)` \|(.*)$", section, re.MULTILINE))
    lines["cryptopredict/"] = next(
        paragraph for paragraph in section.split("\n\n") if paragraph.startswith("Beside them")
    )
    return lines


def unmapped(text: str) -> list[str]:
    """The modules its folder's line does not name (as `name.py`)."""
    lines = layout_lines(text)
    return [
        str(path.relative_to(ROOT))
        for path in sorted(path for folder in MAPPED for path in folder.rglob("*.py"))
        if path.name not in ENTRY_POINTS
        and f"`{path.name}`" not in lines.get(f"{path.parent.relative_to(ROOT)}/", "")
    ]


def misnamed(text: str) -> list[str]:
    """The modules a folder's line names that neither the folder nor the checkout's root (where
    `train.py` and `api.py` are) holds."""
    return sorted(
        f"{folder}{name}"
        for folder, line in layout_lines(text).items()
        for name in re.findall(r"`(\w+\.py)`", line)
        if not (ROOT / folder / name).is_file() and not (ROOT / name).is_file()
    )


def test_every_module_has_its_line_in_the_layout_and_every_line_its_module():
    text = DEVELOPMENT.read_text()
    assert unmapped(text) == []
    assert misnamed(text) == []


@pytest.mark.parametrize(
    ("starts", "name", "module"),
    [
        ("| `cryptopredict/minutes/` |", "`store.py`", "cryptopredict/minutes/store.py"),
        ("Beside them", "`utc.py`", "cryptopredict/utc.py"),
        ("| `tools/release/` |", "`version.py`", "tools/release/version.py"),
    ],
)
def test_a_module_named_only_in_another_folder_s_line_is_unmapped(starts, name, module):
    """`store.py` is named in the lines of `data/` and `artifact/` too: only its own counts."""
    text = DEVELOPMENT.read_text()
    start = text.index(f"\n{starts}") + 1
    end = text.index("\n\n" if starts == "Beside them" else "\n", start)
    line = text[start:end]
    assert name in line
    changed = text[:start] + line.replace(name, "`gone.py`") + text[end:]
    assert unmapped(changed) == [module]
    assert misnamed(changed) == [module.rsplit("/", 1)[0] + "/gone.py"]


@pytest.mark.parametrize("name", sorted(path.stem for path in (ROOT / "bench").glob("*.py")))
def test_every_benchmark_imports(name):
    """A benchmark a refactor left behind fails here, not when someone next measures."""
    python_prints(f"import bench.{name}")
