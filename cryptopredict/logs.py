"""Logging for the command-line tools: one line per event on stderr, naming the pair a training
line is about, with every secret `redact` knows as `***`, whoever wrote it (docs/operations.md
lists the shapes). A driver's error can quote a database URL whole or in part, so messages built
from one go through `scrub`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

# The shapes of a secret, each replaced by ***. Every pattern starts at a literal, or where a run
# starts (never inside one), and every quantifier is possessive: none backtracks, and a line is
# read in a time linear in its length (bench.redaction).
_CREDENTIALS = (  # a URL's credentials: `user:***@`, or a token `***@` (JSON's `:\/\/` too)...
    r"(:(?:/|\\/){2}(?:[^\s/\\@:'\"<>]*+:)?)(?:[^\s/\\@]++@(?:[^\s/\\@]*+@)*+"
    # ...where a password holds / or a space, up to the next @ (host:port is not a password)
    r"|(?<=:)(?!\d++(?!\w))(?:[^@\n:]|:(?![/\\]))*+@)"
    r"|(?<![\w.%+/:@\\-])([\w.%+-]++:)(?:[^\s/'\"@:]*+@)++(?=[\w\[])"  # user:***@host
)
_SCHEME = r"(?:(?:basic|bearer|digest|token)\s++)?"  # of an Authorization, kept
_WHOLE = (  # a cookie or an Authorization's credentials (any scheme's) to the line's end; a webhook
    r"(?=[ACPSacps])(?<![\w-])((?:set-)?cookie\s*+:\s*+"
    rf"|(?:proxy-)?authorization\s*+:\s*+{_SCHEME})[^\r\n]++"
    r"|(?=[/Hh])((?:hooks\.slack\.com/services|/api/webhooks)/)[\w/-]++"
)
_NAMED = (  # a value after a name ending so, `=` or `:` and maybe a quote or an auth scheme
    r"(?=[AaBbCcKkPpSsTt])((?:(?:pass(?:word|wd|phrase)|(?<![a-z])(?:pass|pwd|sig|auth)|secret"
    r"|token|signature|credentials?|key(?:[-_]?id)?|authorization|cookie|session(?:[-_]?id)?)"
    rf"(?:['\"]|\\\")?\s*+[=:]\s*+{_SCHEME}|(?<![\w-])bearer\s++)"
    r"(?:'|\"|\\\"|))(?:(?<=\\\")(?:[^\"\\\n]|\\(?!\"))*+|(?<=')[^'\n]*+|(?<=\")(?:[^\"\\\n]|\\.)*+"
    r"|[^\s&'\",;)}\]<>\\]++)"
)
_TOKENS = (  # well-known vendors' tokens by their prefix, JWTs, private keys; others: `_LONG`
    r"(?=[-\dACGMNOPSadeghlnprswxy])(?<![\w-])"  # (where one may start: a quick scan)
    r"(?:(?:gh[oprsu]|github_pat|rnd|hf|npm|dckr_pat|glsa|glc|sntry[su]|lin_api|whsec)_|xapp-"
    r"|gl(?:pat|dt|rt|ptt|ft|imt|agent|oas|cbt|soat|ffct)-|xox[a-z]-|sk-|pypi-AgE|SG\.|AIza"
    r"|(?:sk|rk|pk)_(?:live|test)_|ya29\.|GOCSPX-|hv[sbr]\.|do[opr]_v1_|PMAK-|ATATT|NRAK-|dapi"
    r"|shp(?:at|ca|pa|ss)_|sq0[a-z]{3}-|\d{8,10}+:AA|[MNO][A-Za-z\d]{23,25}+\."
    r"|(?:AKIA|ASIA|ABIA|ACCA)(?=[A-Z0-9]{16}(?![\w-]))|[ACP]K(?=[A-Z0-9]{18}(?![\w-]))"
    r"|SK(?=[0-9a-fA-F]{32}(?![\w-])))[\w.=-]{16,}+"
    r"|eyJ(?<![\w-]eyJ)[\w-]*+\.eyJ[\w-]*+\.[\w-]*+"
    r"|-----BEGIN(?: [A-Z]++)*+(?:(?<=PRIVATE KEY)|(?<=PRIVATE KEY BLOCK))-----"
    r"(?:[^-]++|-(?!----END))*+(?:-----END(?: [A-Z]++)*+-----)?"
)
_LONG = re.compile(r"(?<![\w-])[A-Za-z0-9]{32,}+(?![\w-])")  # a key, if of mixed case and digits
_SHAPES = [(re.compile(_TOKENS), "***"), (re.compile(_CREDENTIALS), r"\1\2***@")]
_SHAPES += [(re.compile(_WHOLE, re.I), r"\1\2***"), (re.compile(_NAMED, re.I), r"\1***")]


def redact(text: str) -> str:
    """`text` with every secret of a shape `_SHAPES` or `_LONG` knows replaced by ***; where
    percent-decoding it shows one more (a name written `p%61ssword`), decoded."""
    once = _redacted(text)
    if "%" not in once or (decoded := unquote(once)) == once:
        return once
    return once if (twice := _redacted(decoded)) == decoded else twice


def _redacted(text: str) -> str:
    for pattern, said in _SHAPES:
        text = pattern.sub(said, text)
    return _LONG.sub(_mixed, text)


def _mixed(found: re.Match[str]) -> str:
    run = found[0]
    return "***" if run.lower() != run != run.upper() and any(map(str.isdigit, run)) else run


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error message) without `url`'s password, as written or decoded, nor a
    part of the URL it quotes that holds some of it (libpq quotes what it cannot parse)."""
    start, end = url.find(":", url.find("://") + 3) + 1, url.rfind("@")  # `password=`: `redact`
    for secret in (url[start:end], unquote(url[start:end])) if start < end else ():
        text = text.replace(secret, "***")
    for part in re.split("[\"']", text)[1::2]:
        if part and start < (at := url.find(part)) + len(part) and 0 <= at < end:
            text = text.replace(part, "***")
    return redact(text)


def snippet(raw: object, limit: int = 160) -> str:
    """`raw` (text, bytes or anything printable) on one line, cut at `limit` characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


NOISY = ("cmdstanpy", "prophet", "urllib3", "binance")


class RedactingFormatter(logging.Formatter):
    """Also starts a line with the pair its record carries (`training.tasks.naming`)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        pair = getattr(record, "pair", None)
        if pair and not record.message.startswith(f"{pair}:"):
            record.message = f"{pair}: {record.message}"
        return super().formatMessage(record)


def configure(level: str = "INFO") -> None:
    """`logging.basicConfig` (nothing where the root logger has a handler) writing redacted
    lines to stderr, on a terminal each clearing its row first (training's progress bar)."""
    handler = logging.StreamHandler()
    clear = "\r\x1b[K" * handler.stream.isatty()
    form = f"{clear}%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(form, datefmt="%Y-%m-%dT%H:%M:%S"))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
