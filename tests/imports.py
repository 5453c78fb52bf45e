"""What a Python file imports, read from its source without running it; what Python prints
running some."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def python_prints(code: str, *args: str) -> str:
    """What `python -c code args` prints, run in the checkout (it must succeed)."""
    run = [sys.executable, "-c", code, *args]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@functools.cache  # the package's files, read once for every chain of imports followed
def imported_modules(path: Path) -> frozenset[str]:
    """The absolute imports of `path`: `import a.b` and `from a.b import c` give `a.b`."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return frozenset(modules)
