"""The suite shares code through ordinary modules: no test module imports from a `conftest.py`
(pytest loads those itself; they hold fixtures and hooks only)."""

from __future__ import annotations

from pathlib import Path

from tests.imports import imported_modules

TESTS = Path(__file__).parent


def test_no_module_imports_from_a_conftest():
    offenders = sorted(
        f"{path.relative_to(TESTS.parent)} imports {name}"
        for path in TESTS.rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[-1] == "conftest"
    )
    assert not offenders
