"""The runtime package holds only the runtime: nothing under `cryptopredict/` imports `tools/`
(the model report writer, the panel's peers, the release tooling) or the libraries only they
use, since the image carries the package without them (`make image-test` checks the image)."""

from __future__ import annotations

from pathlib import Path

from tests.imports import imported_modules

PACKAGE = Path(__file__).parents[1] / "cryptopredict"
# Top-level modules the runtime must never import: development and CI only.
DEVELOPMENT_ONLY = {"tools", "arch", "tests"}


def test_the_runtime_package_imports_no_development_tooling():
    offenders = sorted(
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in DEVELOPMENT_ONLY
    )
    assert not offenders


def test_the_check_sees_an_import_of_the_tools(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("import json\nfrom tools.report import render\nfrom . import sibling\n")
    assert imported_modules(module) == {"json", "tools.report"}
