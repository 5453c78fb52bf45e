"""The API's own app, served stock: `create_app` on the artifacts of `MODEL_DIR`, served by
`waitress.serve(app, host=..., port=...)` with Waitress's defaults (`bench/serving.py`).

The reference for what `python api.py` adds around its app (its Waitress options, its signal
handling and drain, its logging): the app is the same, only the start-up path differs.
`python -m bench.own_app` serves on `HOST`:`PORT`.
"""

from __future__ import annotations

from flask import Flask

from bench.serving import serve_stock
from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings


def own_app() -> Flask:
    settings = ApiSettings.from_env()
    return create_app(open_artifacts(settings.model_dir), settings)


if __name__ == "__main__":
    serve_stock(own_app())
