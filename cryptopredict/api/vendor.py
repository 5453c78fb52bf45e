"""Third-party browser assets, served from installed Python packages: no CDN, works offline.

The packages are located without importing them (importing plotly costs time and memory).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from cryptopredict.api.errors import StartupError

SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def swagger_ui_dir() -> Path:
    """Swagger UI's distribution files, from the `swagger-ui-py` package."""
    return _require(_package_dir("swagger_ui", "swagger-ui-py") / "static", SWAGGER_UI_FILES)


def plotly_js() -> Path:
    """plotly.js, from the `plotly` package."""
    directory = _package_dir("plotly", "plotly") / "package_data"
    return _require(directory, ("plotly.min.js",)) / "plotly.min.js"


def _package_dir(module: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise StartupError(
            f"the {distribution} package is not installed; "
            "run `pip install -r requirements-api.txt`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _require(directory: Path, names: tuple[str, ...]) -> Path:
    missing = [name for name in names if not (directory / name).is_file()]
    if missing:
        raise StartupError(
            f"{directory} lacks {', '.join(missing)}; reinstall with "
            "`pip install --force-reinstall -r requirements-api.txt`"
        )
    return directory
