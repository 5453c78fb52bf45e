"""The request examples and the routes the README and the documentation pages show, read from
them so that the checks follow the documents and cannot drift from them.

- `curl_examples`: every `$ curl URL` (or `GET /path`) in a fenced block, with the answer
  printed under it;
- `inline_examples`: every concrete request to a documented route in inline code, such as
  `/bitcoin?date=2026-08-01`;
- `documented_routes`: the first column of the README's endpoint table (the one `docs/api.md`
  includes), between its `--8<-- [start:endpoints]` and `[end:endpoints]` markers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
# The README and every page of the documentation site.
DOCUMENTS = (README, *sorted((ROOT / "docs").glob("*.md")))
FENCE = re.compile(r"^ *```[a-z]*\n(.*?)^ *```", re.MULTILINE | re.DOTALL)  # also in lists
REQUEST = re.compile(r"^(?:\$ curl (?:-[a-zA-Z]+ )*'?(https?://[^'\s]+)'?|GET (/\S*))\s*$")
INLINE = re.compile(r"`(/[a-z0-9/._-]*\?[^`\s]+)`")
TABLE_CELL = re.compile(r"`([^`]+)`")
ENDPOINTS = re.compile(r"--8<-- \[start:endpoints\].*?\n(.*?)--8<-- \[end:endpoints\]", re.DOTALL)
# What the documents write for "any value here": `...` in place of list items, object members
# or whole values.
ANY = "<any>"


@dataclass(frozen=True)
class Example:
    request: str  # path and query, e.g. /bitcoin?date=2026-08-01
    line: int  # where the document shows it
    shown: Any = None  # the answer printed under a curl example, `ANY` where elided
    document: str = "README.md"

    def __str__(self) -> str:
        return f"{self.document}:{self.line} {self.request}"


def curl_examples(text: str | None = None, document: str = "README.md") -> list[Example]:
    text = README.read_text() if text is None else text
    examples = []
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        lines = [line.strip() for line in block.group(1).splitlines()]
        for index, line in enumerate(lines):
            found = REQUEST.match(line)
            if not found:
                continue
            answer = []
            for following in lines[index + 1 :]:
                if REQUEST.match(following):
                    break
                answer.append(following)
            url = urlsplit(found.group(1) or found.group(2))
            request = url.path + (f"?{url.query}" if url.query else "")
            shown = parse_shown(" ".join(answer)) if answer else None
            examples.append(Example(request, first_line + index, shown, document))
    return examples


def inline_examples(text: str | None = None, document: str = "README.md") -> list[Example]:
    """Requests in inline code to a route of the endpoint table whose every parameter has a
    concrete value (not `D`, not empty, not `...`)."""
    text = README.read_text() if text is None else text
    routes = [_route_pattern(route) for route in documented_routes()]
    examples = []
    for found in INLINE.finditer(text):
        request = found.group(1)
        url = urlsplit(request)
        params = parse_qsl(url.query, keep_blank_values=True)
        concrete = all(value and not value.isupper() and "..." not in value for _, value in params)
        if params and concrete and any(route.fullmatch(url.path) for route in routes):
            line = text.count("\n", 0, found.start()) + 1
            examples.append(Example(request, line, None, document))
    return examples


def documented_examples() -> tuple[list[Example], list[Example]]:
    """The curl and the inline examples of the README and of every documentation page."""
    curl: list[Example] = []
    inline: list[Example] = []
    for path in DOCUMENTS:
        text, name = path.read_text(), path.relative_to(ROOT).as_posix()
        curl += curl_examples(text, name)
        inline += inline_examples(text, name)
    return curl, inline


def documented_routes(text: str | None = None) -> set[str]:
    """The routes of the endpoint table, as paths without their query (`/forecast/{asset}`)."""
    text = README.read_text() if text is None else text
    found = ENDPOINTS.search(text)
    if found is None:
        raise ValueError("README.md has no endpoint table between --8<-- endpoints markers")
    section = found.group(1)
    routes = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            routes.update(cell.split("?")[0] for cell in TABLE_CELL.findall(first_cell))
    return routes


def _route_pattern(route: str) -> re.Pattern[str]:
    """`/forecast/{asset}` as a pattern matching `/forecast/eth-usd`."""
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(route)))


def parse_shown(answer: str) -> Any:
    """The JSON answer a documented example prints, with its `...` elisions as `ANY`."""
    text = re.sub(r"\[\s*\.\.\.\s*\]", f'"{ANY}"', answer)  # [...]: any list
    text = re.sub(r",\s*\.\.\.\s*(?=[}\]])", "", text)  # , ...}: more members or items
    text = re.sub(r'"\.\.\."', f'"{ANY}"', text)  # "...": any value
    return json.loads(text)


# Values that differ from one training run to the next, so a document cannot state them.
VARIES = {"created_at"}


def mismatches(shown: Any, answer: Any, where: str = "") -> list[str]:
    """How `answer` differs from the `shown` example: a missing key, another JSON type, a list
    of another length, or another value: every number too, as the API writes it (the documents
    show the real model's figures; a retrained model or a changed band must update them). Keys
    the document leaves out may be there."""
    if shown == ANY:
        return []
    if isinstance(shown, dict | list):
        if type(answer) is not type(shown):
            return [f"{where or 'answer'}: {_kind(shown)} in the README, {_kind(answer)} here"]
        if isinstance(shown, dict):
            return _object_mismatches(shown, answer, where)
        return _list_mismatches(shown, answer, where)
    if _is_number(shown) and not _is_number(answer):
        return [f"{where}: a number in the README, {answer!r} here"]
    return [] if shown == answer else [f"{where}: {shown!r} in the document, {answer!r} here"]


def _object_mismatches(shown: dict, answer: dict, where: str) -> list[str]:
    problems = []
    for key, value in shown.items():
        if key not in answer:
            problems.append(f"{where}.{key}: in the README, missing from the answer")
        elif key not in VARIES:
            problems += mismatches(value, answer[key], f"{where}.{key}")
    return problems


def _list_mismatches(shown: list, answer: list, where: str) -> list[str]:
    problems = []
    if len(shown) != len(answer):
        problems.append(f"{where}: {len(shown)} items in the README, {len(answer)} here")
    for index, (item, got) in enumerate(zip(shown, answer, strict=False)):
        problems += mismatches(item, got, f"{where}[{index}]")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list"}.get(type(value), repr(value))
