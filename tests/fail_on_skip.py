"""A pytest plugin: with `CRYPTOPREDICT_FAIL_ON_SKIP=1` in the environment, every skipped test
(or module) fails instead, saying why it skipped: a test that cannot run is a check not made.

`make test` and `make e2e` set it unless `WITHOUT` names tools to do without, `.ci/run` always;
`tests/conftest.py` registers this module. Expected failures (`xfail`) are not skips.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

VARIABLE = "CRYPTOPREDICT_FAIL_ON_SKIP"


def failing_on_skips() -> bool:
    return os.environ.get(VARIABLE, "") not in ("", "0")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_a_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_a_skip(report)
    return report


def _fail_a_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not failing_on_skips():
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (
        f"skipped: {reason}\n"
        f"{VARIABLE}=1 fails every skipped test (make test and make e2e set it unless WITHOUT "
        "names the tools to do without; .ci/run always): install what the test needs, or run "
        "`make test WITHOUT=<tool>` to do without it (docs/development.md)"
    )
