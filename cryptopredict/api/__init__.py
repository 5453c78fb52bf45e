"""The HTTP API: `create_app(artifacts, settings)` builds it (`app`), `api.py` serves it with
Waitress (`server`); `serving` holds what the routes answer from, without Flask.

`create_app` is imported on first use, so that importing `cryptopredict.api.serving` does not
import Flask through this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptopredict.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from cryptopredict.api.app import create_app  # noqa: PLC0415 (see the docstring)

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
