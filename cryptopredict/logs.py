"""Logging for the command-line tools: one line per event on stderr, naming the pair a training
line is about, with the password of any URL (and any `password=...`) as `***`, whoever wrote it.
A driver's error can quote a database URL whole or in part, so messages built from one go
through `scrub`.
"""

from __future__ import annotations

import logging
import re
import urllib.parse

# Passwords in query strings and keyword connection strings: `password=...`.
_PASSWORD_PARAMETER = re.compile(r"(password=)[^&\s'\"]*", re.IGNORECASE)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")


def redact(url: str) -> str:
    url = _PASSWORD_PARAMETER.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def snippet(raw: object, limit: int = 160) -> str:
    """`raw` (text, bytes or anything printable) on one line, cut at `limit` characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def redact_text(text: str) -> str:
    """`text` with the password of every URL in it (and every `password=`) replaced by ***."""
    return _PASSWORD_PARAMETER.sub(r"\1***", _URL.sub(lambda found: redact(found[0]), text))


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
