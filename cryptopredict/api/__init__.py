"""The HTTP API: `create_app(artifacts, settings)` builds it, `api.py` serves it with Waitress."""

from cryptopredict.api.app import create_app

__all__ = ["create_app"]
