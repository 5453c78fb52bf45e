"""Execute train.ipynb headless and export it as one HTML file whose charts work offline.

The notebook test runs it with small parameters; `make notebook` runs it with its defaults:

    python -m tests.notebook.harness --html reports/train.html [-p NAME VALUE]...
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import papermill
from jinja2 import DictLoader
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "train.ipynb"

# JupyterLab's HTML template, without the scripts it would fetch from CDNs (RequireJS, MathJax,
# Mermaid): the notebook needs none of them, and plotly.js is embedded by the notebook itself.
OFFLINE_TEMPLATE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def execute(
    output: Path, parameters: dict | None = None, *, timeout: int | None = None
) -> nbformat.NotebookNode:
    """Run the notebook from the repository root, save the executed copy to `output`, and
    return it; any cell error raises `papermill.PapermillExecutionError`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    return papermill.execute_notebook(
        str(NOTEBOOK),
        str(output),
        parameters=parameters or {},
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
        request_save_on_cell_execute=False,
        execution_timeout=timeout,
    )


def to_html(notebook: nbformat.NotebookNode) -> str:
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="offline.html.j2",
    )
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": "train"}})
    return body


# The attribute through which each tag makes the browser fetch something.
FETCHING = {"script": "src", "link": "href", "iframe": "src", "img": "src"}
# Remote URLs fetched from inside scripts (ES module imports) and stylesheets (url(), @import).
IN_SCRIPT = re.compile(r"""\bimport\s*\(?\s*["']((?:https?:)?//[^"']+)""")
IN_STYLE = re.compile(r"""(?:url\(|@import)\s*["']?((?:https?:)?//[^"')\s]+)""")


class _Fetches(HTMLParser):
    """Every URL a page would fetch by itself on opening."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == FETCHING.get(tag) and value and not value.startswith("data:"):
                self.urls.append(value)
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "script":
            self.urls += IN_SCRIPT.findall(data)
        elif self._inside == "style":
            self.urls += IN_STYLE.findall(data)


def external_fetches(html: str) -> list[str]:
    """The URLs in `html` that a browser would fetch on opening it (none, for an offline page)."""
    parser = _Fetches()
    parser.feed(html)
    return parser.urls


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.notebook.harness")
    parser.add_argument("--html", type=Path, default=ROOT / "reports" / "train.html")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a parameter; VALUE is a Python literal, or else a string",
    )
    return parser.parse_args(argv)


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parameters = {name: _literal(value) for name, value in args.parameter}
    started = time.monotonic()
    executed = execute(args.html.with_suffix(".ipynb"), parameters)
    html = to_html(executed)
    fetches = external_fetches(html)
    if fetches:
        print(f"the report would fetch {fetches}: not written", file=sys.stderr)
        return 1
    args.html.write_text(html, encoding="utf-8")
    seconds = time.monotonic() - started
    print(f"wrote {args.html} ({len(html) / 1e6:.1f} MB) in {seconds:.0f} s; it fetches nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
