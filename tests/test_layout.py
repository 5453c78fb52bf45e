"""The package's shape: modules small enough to read in one sitting, and the artifact's schema
at the bottom of the drawing, importing nothing else of cryptopredict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.imports import imported_modules

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
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, cryptopredict.artifact.schema; print(*sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
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
