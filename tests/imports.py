"""What a Python file imports, read from its source without running it."""

from __future__ import annotations

import ast
import functools
from pathlib import Path


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
