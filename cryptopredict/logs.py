"""Logging for the command-line tools: one line per event on stderr, naming the pair a training
line is about, with every secret `redact_text` knows as `***`, whoever wrote it (docs/live-data.md
lists the shapes). A driver's error can quote a database URL whole or in part, so messages built
from one go through `scrub`.
"""

from __future__ import annotations

import logging
import re
import urllib.parse

# A secret after its name: `password=`, `token=`, `secret=`, `key=` and names ending so
# (`api_key=`, `APCA-API-SECRET-KEY: ...`, `'password': '...'`), quoted or not.
_NAMED = re.compile(
    r"""(\b[\w-]*(?:password|passwd|token|secret|key)['"]?(?:=|:\s*)['"]?)[^\s&'",;)}\]]+""",
    re.IGNORECASE,
)
_PASSWORD_PARAMETER = re.compile(r"(password=)[^&\s'\"]*", re.IGNORECASE)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_BARE = re.compile(r"(?<![\w/:.%+@-])([\w.%+-]+):[^\s/'\"]+@(?=[\w\[])")  # user:password@host


def redact(url: str) -> str:
    """`url` with its password (`user:***@`), or a user alone (a token: `***@`), and every named
    secret hidden."""
    url = _NAMED.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    credentials, at, _ = authority.rpartition("@")
    if not sep or not at:
        return url
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user + ':***' if colon else '***'}@{rest[len(credentials) + 1 :]}"


def snippet(raw: object, limit: int = 160) -> str:
    """`raw` (text, bytes or anything printable) on one line, cut at `limit` characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def redact_text(text: str) -> str:
    """`text` with every URL's password or token, every `user:password@host` and every named
    secret (`_NAMED`) replaced by ***."""
    text = _URL.sub(lambda found: redact(found[0]), text)
    return _BARE.sub(r"\1:***@", _NAMED.sub(r"\1***", text))


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error message) without `url`'s password in any form."""
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return redact_text(text)


def _secrets(url: str) -> list[str]:
    _, _, rest = url.partition("://")
    credentials, at, _ = rest.rpartition("@")
    found = []
    if at and ":" in credentials:
        found.append(credentials.split(":", 1)[1])
    found += [match[0].split("=", 1)[1] for match in _PASSWORD_PARAMETER.finditer(url)]
    forms = {form for secret in found if secret for form in (secret, urllib.parse.unquote(secret))}
    return sorted(forms, key=len, reverse=True)


NOISY = ("cmdstanpy", "prophet", "urllib3", "binance")


class RedactingFormatter(logging.Formatter):
    """Also starts a line with the pair its record carries (`training.tasks.naming`)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        pair = getattr(record, "pair", None)
        if pair and not record.message.startswith(f"{pair}:"):
            record.message = f"{pair}: {record.message}"
        return super().formatMessage(record)


def configure(level: str = "INFO") -> None:
    """`logging.basicConfig` (nothing where the root logger has a handler) writing redacted
    lines to stderr."""
    handler = logging.StreamHandler()
    form = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(form, datefmt="%Y-%m-%dT%H:%M:%S"))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
