"""The docs' figures against the code and `docs/measured.json`; `python -m tools.doc_figures` writes
the measured ones' table, `docs/measured.md`, and prints the figures that differ (status 1)."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptopredict.config import SECTIONS, variables
from cryptopredict.model.scorecard import markdown_table
from tools.report import render

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", *(f"docs/{page.name}" for page in sorted((ROOT / "docs").glob("*.md"))))
# The changelog, whose entries say what was true when each was written.
HISTORY = ("docs/changelog.md",)

WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
WORDS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15}
WORDS |= {"twenty": 20, "thirty": 30, "sixty": 60}
DAY = 86400.0
UNITS = {
    "ms": 0.001, "s": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0,
    "minutes": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0, "day": DAY, "days": DAY,
    "year": 365.25 * DAY, "years": 365.25 * DAY, "bytes": 1.0, "KiB": 1024.0,
    "MiB": 1024.0**2, "GiB": 1024.0**3,
}  # fmt: skip
# The unit a setting is counted in, by the end of its name (others count things).
BASES = {"_SECONDS": 1.0, "_TIMEOUT": 1.0, "_DAYS": DAY, "_HOURS": 3600.0, "_SIZE": 1.0}
_NUMBER = r"(?>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)"  # 4,000 or 0.95; whole
_UNIT = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))
# A figure: digits, with or without a unit, or a number in words with one ("a minute").
QUANTITY = (
    rf"`?(?P<n>{_NUMBER}(?!\.?\d|:\d|[/\w])|(?:{'|'.join(WORDS)})(?=\s(?:{_UNIT})\b))`?"
    rf"(?:\s?(?P<unit>{_UNIT})\b)?"
)


# `NAME` (15 s), `NAME`, 2 s, `NAME` points (10,000: ...), `NAME` days (default 7),
# `NAME` (12 in the image); and `max-age=600` (`NAME`).
SETTING_THEN_FIGURE = (
    rf"`(?P<env>[A-Z][A-Z0-9_]+)`(?:\s\w+)?(?:\s\(|,\s)(?P<default>default\s+)?{QUANTITY}"
    r"(?P<where> in the (?:image|Blueprint))?"
)
FIGURE_THEN_SETTING = (
    rf"(?<![\w.]){QUANTITY.replace('`?', '')}`? \(`(?P<env>[A-Z][A-Z0-9_]+)`\)"
    r"(?P<default>)(?P<where>)"
)
# A default in words: `NAME` (default `value`), `NAME`, default `value`, `NAME` is `form`
# (default `value`; and a table's row: | `NAME` | ... (the product's default, `value`) |.
WORDED_DEFAULT = (
    r"`(?P<env>[A-Z][A-Z0-9_]+)`(?:\*\*)?(?: is `[^`\n]+`)?(?:\s\(|,\s)default,?\s+"
    r"`(?P<value>[^`]+)`"
)
ROW_DEFAULT = (
    r"^\| `(?P<env>[A-Z][A-Z0-9_]+)` \|[^\n]*?\((?:the product's )?default,?\s`(?P<value>[^`]+)`\)"
)
# A tuple of the code, listed: `panel_steps.WINDOWS` (1, 7 or 30 days); `none` for None.
LISTED = (
    rf"`(?:(?P<module>\w+)\.)?(?P<env>\w+)` \((?P<list>(?:(?:{_NUMBER}|none),? )+"
    rf"(?:and|or) {_NUMBER})(?: (?:{_UNIT}))?\)"
)
# Two settings' defaults as a range: [`LOW`, `HIGH`] (0.6 to 0.95).
RANGE = (
    rf"\[`(?P<low>[A-Z][A-Z0-9_]+)`, `(?P<high>[A-Z][A-Z0-9_]+)`\] \(({_NUMBER}) to ({_NUMBER})\)"
)


@dataclass(frozen=True)
class Wrong:
    page: str
    line: int
    said: str
    expected: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.said!r}, where the code says {self.expected}"


def amount(number: str, unit: str | None) -> float:
    value = float(WORDS.get(number) or number.replace(",", ""))
    return value * UNITS[unit] if unit else value


@functools.cache
def settings() -> dict[str, object]:
    """Every documented setting's default: config.py's, the Makefile's, the workflow's."""
    found: dict[str, object] = {
        each.env: each.default for section in SECTIONS for each in variables(section).values()
    }
    for name, value in re.findall(r"^(\w+) \?= ?(.*)$", _read("Makefile"), re.M):
        found[name] = value.strip() or None
    workflows = "".join(path.read_text() for path in _files(".github/**/*.yml"))
    found |= dict(re.findall(r"vars\.(\w+) \|\| '([^']*)'", workflows))
    # The release's repository variables its cli defaults (`DEFAULT_ASSETS = "top:200"`).
    cli = _read("tools/release/cli.py")
    for variable, constant in (("RELEASE_ASSETS", "ASSETS"), ("FIRST_VERSION", "FIRST_VERSION")):
        found[variable] = re.findall(rf'^DEFAULT_{constant} = "([^"]*)"', cli, re.M)[0]
    # The tools' own: os.environ.get("NAME") or 60, os.environ.get("NAME", "value").
    for folder in ("tools", "ci", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name, given, after in re.findall(
                r'os\.environ\.get\("([A-Z_]+)"(?:, "([^"]*)")?\)(?: or ([\d.]+))?',
                path.read_text(),
            ):
                found.setdefault(name, given or after or None)
    return found


@functools.cache
def constants() -> dict[str, object]:
    """The numeric constants named once in the code below, and Dask's documented settings."""
    import dask.config  # noqa: PLC0415 (the training stack: only where the docs are checked)
    import distributed  # noqa: F401, PLC0415 (its defaults join dask's configuration)

    found: dict[str, set[str]] = {}
    for path in _files(
        "cryptopredict/**/*.py", "tools/*.py", "bench/*.py", "tests/release/month*.py"
    ):
        for name, given, unit in re.findall(
            r"^([A-Z][A-Z0-9_]+) = (\d[\d_]*(?:\.\d+)?)\b(?: \* (DAY|HOUR|MINUTE)\b)?",
            path.read_text(),
            re.M,
        ):  # 30 * DAY: in seconds
            value = given.replace("_", "")
            found.setdefault(name, set()).add(str(amount(value, unit.lower())) if unit else value)
    named: dict[str, object] = {
        name: values.pop() for name, values in found.items() if len(values) == 1
    }
    for env in re.findall(r"`(DASK_[A-Z_]+)`", "".join(_read(page) for page in PAGES)):
        key = env.removeprefix("DASK_").lower().replace("__", ".").replace("_", "-")
        value = str(dask.config.get(key, default=""))
        figure = re.fullmatch(rf"({_NUMBER})\s?({_UNIT})?", value)
        if figure:
            named[env] = amount(figure[1], figure[2]) if figure[2] else figure[1]
    return named


def deployed(where: str) -> dict[str, str]:
    """The settings the image (`ENV` in the Dockerfile) or the Blueprint (render.yaml) sets."""
    if where == "image":
        return dict(
            re.findall(r"^\s*(?:ENV\s+)?([A-Z_]+)=(\S+?)\s*\\?$", _read("Dockerfile"), re.M)
        )
    return dict(re.findall(r'key: "(\w+)"\n\s+value: "([^"]*)"', _read("render.yaml")))


def _read(path: str) -> str:
    return (ROOT / path).read_text()


def _files(*patterns: str) -> list[Path]:
    return sorted(path for pattern in patterns for path in ROOT.glob(pattern))


def in_file(path: str, pattern: str, default: float | None = None) -> float:
    """The figure `pattern` finds in the first file of glob `path` holding it, else `default`."""
    for file in _files(path):
        found = re.search(pattern, file.read_text(), re.M)
        if found:
            return float(found.group(1))
    if default is None:
        raise KeyError(f"no {pattern!r} in {path}")
    return default


_HOURS = "|".join(("two", "three", "four", "six", "eight", "twelve"))


def _from_code(each: dict[str, Any]) -> float:
    """The figure `each` of `tools/doc_figures.json` reads from its file, in seconds or bytes."""
    value = in_file(each["file"], each["reads"], each.get("default"))
    if "minus" in each:
        value -= in_file(each["file"], each["minus"])
    return value * each.get("times", 1)


def _pattern(says: str) -> str:
    for name, pattern in (("QUANTITY", QUANTITY), ("NUMBER", _NUMBER), ("HOURS", _HOURS)):
        says = says.replace(f"{{{name}}}", pattern)
    return says


# What the code sets that pages say in words: a pattern whose group `n` (and `unit`, if it has
# one: else the one assumed) is the figure, and the figure's value in the code, in seconds, read
# from a file as `tools/doc_figures.json` says.
PHRASES: dict[str, tuple[str, Callable[[], float], str]] = {
    what: (_pattern(each["says"]), functools.partial(_from_code, each), each.get("unit", ""))
    for what, each in json.loads((ROOT / "tools/doc_figures.json").read_text()).items()
}


def _value(match: re.Match[str], assumed: str) -> float:
    groups = match.groupdict()
    number = groups["n"] or groups.get("n2") or ""
    if number == "second":
        return 1.0
    return amount(number, groups.get("unit") or assumed)


def wrong_figures(name: str, page: str) -> list[Wrong]:
    """Every figure of `page` the code sets that differs from the code."""
    defaults = settings()
    named = constants()
    found = []
    text = re.sub(r"```.*?```", lambda block: "\n" * block[0].count("\n"), page, flags=re.S)
    for match in [*re.finditer(SETTING_THEN_FIGURE, text), *re.finditer(FIGURE_THEN_SETTING, text)]:
        env = match["env"]
        if env not in defaults and env not in named:
            found.append(Wrong(name, _line(text, match), match[0], f"no setting or constant {env}"))
            continue
        if env in defaults and defaults[env] is None and not match["default"]:
            continue
        expected = defaults[env] if env in defaults else named[env]
        if match["where"]:
            expected = deployed(match["where"].split()[-1].lower()).get(env)
        base = next((unit for end, unit in BASES.items() if env.endswith(end)), 1.0)
        said = amount(match["n"], match["unit"]) / (base if match["unit"] else 1.0)
        if not _same(said, expected, rounded=bool(match["unit"])):
            found.append(Wrong(name, _line(text, match), match[0], f"{env} = {expected}"))
    for what, (pattern, value, assumed) in PHRASES.items():
        for match in re.finditer(pattern, text):
            if not _same(_value(match, assumed), value(), rounded=True):
                found.append(Wrong(name, _line(text, match), match[0], f"{what}: {value()}"))
    found += _wrong_words(name, text, defaults)
    found += _wrong_ports(name, text, defaults)
    found += _wrong_build_arguments(name, text)
    for match in re.finditer(r"Debian's ((?:`[\w-]+`,? (?:and )?)+)with\s+`apt-get`", text):
        listed, tools = set(re.findall(r"`([\w-]+)`", match[1])), set(makefile_tools())
        if listed != tools:
            found.append(Wrong(name, _line(text, match), match[0], f"TOOLS = {sorted(tools)}"))
    return found


def code_tuple(module: str, name: str) -> list[float]:
    """The numbers of tuple `name` in `module`.py, sorted, None left out; a field's too."""
    for path in _files(f"cryptopredict/**/{module}.py", f"tools/{module}.py"):
        found = re.search(rf"^\s*{name}(?:: [^=]+)? = \(([^)]*)\)", path.read_text(), re.M)
        if found:
            return sorted(float(each) for each in re.findall(r"\b\d+(?:\.\d+)?\b", found[1]))
    return []


def makefile_tools() -> list[str]:
    """The Debian tools `make test` installs with apt (the Makefile's TOOLS)."""
    found = re.search(r"^TOOLS := (.*)$", _read("Makefile"), re.M)
    return found.group(1).split() if found else []


def _wrong_words(name: str, text: str, defaults: dict[str, object]) -> list[Wrong]:
    """Defaults said in words, tuples listed and ranges."""
    found = []
    for match in [*re.finditer(WORDED_DEFAULT, text), *re.finditer(ROW_DEFAULT, text, re.M)]:
        if str(defaults.get(match["env"])) != match["value"]:
            expected = f"{match['env']} = {defaults.get(match['env'])}"
            found.append(Wrong(name, _line(text, match), match[0], expected))
    for match in re.finditer(LISTED, text):
        code = code_tuple(match["module"] or "*", match["env"])
        if sorted(float(n.replace(",", "")) for n in re.findall(_NUMBER, match["list"])) != code:
            found.append(Wrong(name, _line(text, match), match[0], f"{match['env']} = {code}"))
    for match in re.finditer(RANGE, text):
        low, high = defaults.get(match["low"]), defaults.get(match["high"])
        if not all(
            _same(float(match[i]), each, rounded=False) for i, each in ((3, low), (4, high))
        ):
            found.append(Wrong(name, _line(text, match), match[0], f"{low} to {high}"))
    return found


def _wrong_build_arguments(name: str, text: str) -> list[Wrong]:
    """The docs' build-argument defaults against the Dockerfile's `ARG NAME=value`."""
    arguments = re.findall(r'^ARG (\w+)=(?:"([^"]*)"|(\S+))$', _read("Dockerfile"), re.M)
    given = {arg: quoted or bare for arg, quoted, bare in reversed(arguments)}  # the first's
    found = []
    for table in re.finditer(r"^\| Build argument \| Default \|.*\n(?:\|.*\n?)*", text, re.M):
        for row in re.finditer(r"^\| `(\w+)` \| (?:empty|unset|`([^`]*)`)", table[0], re.M):
            if given.get(row[1]) != (row[2] or ""):
                line = text.count("\n", 0, table.start() + row.start()) + 1
                found.append(Wrong(name, line, row[0], f"ARG {row[1]}={given.get(row[1])}"))
    return found


def _wrong_ports(name: str, text: str, defaults: dict[str, object]) -> list[Wrong]:
    """The API's port in `localhost:80NN` and `:80NN` against PORT's default (or a set one)."""
    found = []
    for paragraph in re.finditer(r"(?:.+\n?)+", text):
        chosen = set(re.findall(r"PORT=(\d+)", paragraph[0]))
        for match in re.finditer(
            r"(?<![\w=.-])(?:localhost|127\.0\.0\.1|0\.0\.0\.0)?:(80\d\d)\b(?!:\d)", paragraph[0]
        ):
            if match[1] not in chosen and int(match[1]) != defaults["PORT"]:
                where = text.count("\n", 0, paragraph.start() + match.start()) + 1
                found.append(Wrong(name, where, match[0], f"PORT = {defaults['PORT']}"))
    return found


def _same(said: float, expected: object, *, rounded: bool) -> bool:
    """Equal; within half a percent for a figure in other units (three years: 1,096 days)."""
    try:
        value = float(str(expected))
    except ValueError:
        return False
    return abs(said - value) <= (0.005 if rounded else 1e-9) * max(abs(value), 1e-9)


def _line(text: str, match: re.Match[str]) -> int:
    return text.count("\n", 0, match.start()) + 1


# Measured figures: each a row of `docs/measured.md`'s table, from `docs/measured.json`, which
# pages link to, the link saying no number the row does not: [13 s](measured.md#first-run).
LINKED = re.compile(r"\[(?P<said>[^][]+)\]\((?:docs/)?measured\.md#(?P<name>[a-z0-9-]+)\)")
COLUMNS = ["Figure", "What it measures", "Command", "Machine", "Date", "Commit"]


def measured() -> dict[str, dict[str, Any]]:
    return json.loads(_read("docs/measured.json"))


def measured_table(figures: dict[str, dict[str, Any]]) -> str:
    """A row a figure, then each figure's details: what `docs/measured.md` shows."""
    rows = [
        [
            f'<a id="{name}"></a>{each["figure"]}',
            each["measures"],
            f"`{each['command']}`",
            f"{each['cores']} cores, load {' to '.join(map(str, each['load'])) or 'not recorded'}",
            each["date"],
            each["commit"],
        ]
        for name, each in figures.items()
    ]
    details = [
        f"### {name}: details\n\n{row['detail']}"
        for name, row in figures.items()
        if "detail" in row
    ]
    return markdown_table(COLUMNS, rows, "\n\n".join(details))


def wrong_links(page: str, figures: dict[str, dict[str, Any]]) -> list[str]:
    """Each link to a row of the measured table that is not there, or says another number."""
    return [
        match[0]
        for match in LINKED.finditer(page)
        if not set(re.findall(_NUMBER, match["said"]))
        <= set(re.findall(_NUMBER, str(figures.get(match["name"], ""))))
    ]


# A duration or a size, in figures or words.
DURATION_OR_SIZE = re.compile(
    rf"(?<!:)\b{_NUMBER}\s?(?:ms|s|min|h|minutes?|hours?|seconds?|days?|KiB|MiB|GiB|KB|MB|GB|bytes)\b"
    rf"|\b(?:{'|'.join(WORDS)}) (?:minutes?|hours?|seconds?|days?)\b(?!-)"  # a minute-bar: a name
)
# Durations and sizes that are neither measured nor set by the code, so typed by hand: each a
# phrasing, kept few. Any other figure on a page is a measured one (a link to its row) or the
# code's (a setting beside its figure, a phrase above).
NEITHER = (
    r"\b\d+[mhdw]\b",  # an interval's or a lead's name: `1h`, 7d
    r"\b1 hour,? 1(?: day|,) (?:and )?7(?: days)?(?: and 30 days)?",  # the scored horizons' names
    r"\b(?:one|a|an) (?:second|minute|hour|day)'s\b",  # a unit: "an hour's bars"
    r"(?:[Ff]or example|[Ii]n this example|e\.g\.)[^.]*",  # a worked example, to a full stop
    r'"[^"\n]*(?:\n[^"\n]*)?"',  # what an answer or a label says, quoted
    rf"(?:GitHub|Render)'s (?:{DURATION_OR_SIZE.pattern})",  # a platform's own: GitHub's 10 GB
    r"\b(?:once|twice|times|one|four) an? (?:second|minute|hour|day)\b",  # a rate: four a day
    r"\ba minute(?= (?:is final|already stored|asked for)\b)",  # a minute, the bar
)


def typed_figures(page: str) -> list[str]:
    """`page`'s durations and sizes typed by hand (not generated or read), each with its line."""
    text = LINKED.sub(_blank, page)
    text = re.sub(r"<!-- generated:([\w-]+) -->.*?<!-- /generated:\1 -->", _blank, text, flags=re.S)
    text = re.sub(r"```.*?```", _blank, text, flags=re.S)
    checked = [SETTING_THEN_FIGURE, FIGURE_THEN_SETTING, *(each[0] for each in PHRASES.values())]
    text = re.sub(LISTED, _blank, text)
    # A figure the page ties to the code once is checked wherever the page says it again.
    tied = {figure[0] for pattern in checked for match in re.finditer(pattern, text)
            for figure in DURATION_OR_SIZE.finditer(match[0].replace("`", ""))}  # fmt: skip
    for pattern in (
        *checked,
        *NEITHER,
        r"`[^`\n]*(?:\n[^`\n]*)?`",
        *(rf"\b{re.escape(each)}\b" for each in tied),
    ):
        text = re.sub(pattern, _blank, text)
    return [f"{_line(text, match)}: {match[0]}" for match in DURATION_OR_SIZE.finditer(text)]


def _blank(match: re.Match[str]) -> str:
    return "\n" * match[0].count("\n") or " "


def main() -> int:
    page = ROOT / "docs/measured.md"
    page.write_text(render(page.read_text(), {"measured": measured_table(measured())}))
    wrong = [
        wrong for name in PAGES if name not in HISTORY for wrong in wrong_figures(name, _read(name))
    ]
    for each in wrong:
        print(each)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
