"""Passwords out of every message and log line: a driver's error can quote a database URL whole
or in part, so messages built from one go through `scrub`, every log line through
`redact_text`."""

from __future__ import annotations

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
