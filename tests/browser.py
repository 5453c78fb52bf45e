"""Debian's chromium driven by Playwright, with nothing reachable beyond loopback and files.

Playwright's own browser download is never used. `Browser` records every request it blocked and
every console error, page error and failed request, for tests to assert there were none.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (`apt-get install -y chromium`; "
    "`make test` does this when run as root)",
)


class Browser:
    def __init__(self, page) -> None:
        self.page = page
        self.blocked: list[str] = []
        self.problems: list[str] = []

    def watch(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.context.route("**/*", self._route)

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request) -> None:
        self.problems.append(f"request failed: {request.url} {request.failure}")

    def _route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK or url.startswith(("data:", "blob:", "file:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


@contextmanager
def watched_page(chromium, **context_options) -> Iterator[Browser]:
    """A new page in a context of its own, watched from the start."""
    context = chromium.new_context(service_workers="block", **context_options)
    watched = Browser(context.new_page())
    watched.watch()
    yield watched
    context.close()


# Every label the page's charts draw (plotly's annotations, legend entries, tick labels, axis
# titles) with its box on the page, and its chart's box.
LABELS = """() => [...document.querySelectorAll(".js-plotly-plot")].flatMap(chart => {
  const inside = chart.getBoundingClientRect();
  return [...chart.querySelectorAll(
    ".annotation-text, .legendtext, .xtick text, .ytick text, .g-xtitle text, .g-ytitle text"
  )].map(label => {
    const box = label.getBoundingClientRect();
    return {chart: chart.id, text: label.textContent, left: box.left, right: box.right,
            top: box.top, bottom: box.bottom, within: box.left >= inside.left &&
            box.right <= inside.right && box.top >= inside.top && box.bottom <= inside.bottom};
  }).filter(box => box.right > box.left && box.bottom > box.top);
})"""


def overlapping(labels: list[dict]) -> list[tuple[str, str, str]]:
    """The pairs of labels of one chart whose boxes overlap: (chart, one's text, other's)."""
    return [
        (one["chart"], one["text"], other["text"])
        for i, one in enumerate(labels)
        for other in labels[i + 1 :]
        if one["chart"] == other["chart"]
        and one["left"] < other["right"] and other["left"] < one["right"]
        and one["top"] < other["bottom"] and other["top"] < one["bottom"]
    ]  # fmt: skip
