"""What training tells its progress (issue 56), on a real cluster (the session's, in this process)
with a stand-in for Prophet's fits (the events are what is checked, not the fits): each
task's start and end on its worker (so a pair whose tasks wait behind another's is seen
waiting), every fit a pair may need planned once its history is read (the total never grows),
the fits handed to the cluster as they are, and a pair that fails named with why, with no
promise in the log of a model that will not come.

BTC/USD and ETH/USD on the embedded daily bars since 2023-06, on one worker thread, beside a
pair no source holds."""

from __future__ import annotations

import threading

import pytest

from cryptopredict.assets import asset_for_symbol
from cryptopredict.config import TrainingSettings
from cryptopredict.model import forecasters
from cryptopredict.training.cli import pair_job, parse_args
from cryptopredict.training.driver import train_pairs
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.tasks import Finished
from tests.stand_in import fit_straight_line

pytestmark = pytest.mark.slow

PAIRS = ("btc-usd", "eth-usd")
MISSING = "nosuch-usd"


class Told:
    """Every call the driver makes, in order (the workers' events come on another thread)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.lock = threading.Lock()
        self.running: dict[str, set[str]] = {}
        self.seen_waiting: set[str] = set()  # a pair with nothing running while another ran

    def _note(self, *call) -> None:
        with self.lock:
            self.calls.append(call)

    def step(self, slug, text):
        self._note("step", slug, text)

    def planned(self, slug, fits):
        self._note("planned", slug, fits)

    def queued(self, slug, fits):
        self._note("queued", slug, fits)

    def fitted(self, slug):
        self._note("fitted", slug)

    def started(self, slug, key, step):
        self._note("started", slug, key, step)
        with self.lock:
            self.running.setdefault(slug, set()).add(key)
            for other in PAIRS:
                if other != slug and not self.running.get(other) and self._begun(other):
                    self.seen_waiting.add(other)

    def _begun(self, slug) -> bool:
        return any(call[0] == "planned" and call[1] == slug for call in self.calls)

    def ended(self, slug, key, step, seconds):
        self._note("ended", slug, key, step, seconds)
        with self.lock:
            self.running.get(slug, set()).discard(key)

    def served(self, slug, kind, path, finished: Finished):
        self._note("served", slug, kind)

    def failed(self, slug, why):
        self._note("failed", slug, why)

    def of(self, kind: str, slug: str) -> list[tuple]:
        return [call for call in self.calls if call[0] == kind and call[1] == slug]


@pytest.fixture(scope="module")
def told(tmp_path_factory, dask_client) -> tuple[Told, dict[str, str], list[str]]:
    out = tmp_path_factory.mktemp("graph-progress")
    args = parse_args(
        ["--all", "--source", "snapshot", "--interval", "1d", "--since", "2023-06-01"]
    )
    settings = TrainingSettings()
    jobs = [pair_job(asset_for_symbol(slug), args, settings) for slug in (*PAIRS, MISSING)]
    progress = Told()
    with pytest.MonkeyPatch.context() as patch:
        # The events are this test's, not the fits: a stand-in for Prophet (tests/stand_in.py).
        patch.setattr(forecasters, "fit_prophet", fit_straight_line)
        logged: list[str] = []
        patch.setattr(
            "cryptopredict.training.graph.log.info",
            lambda message, *values, **_: logged.append(message % values),
        )
        outcome = train_pairs(
            dask_client, jobs, cache=FitCache(out / "fits"), out=out / "artifacts",
            progress=progress, quick=True,
        )  # fmt: skip
    return progress, outcome.failed, logged


def test_every_task_says_when_it_starts_and_ends_on_its_worker(told):
    progress, _, _ = told
    for slug in PAIRS:
        started = {call[2]: call[3] for call in progress.of("started", slug)}
        ended = {call[2]: call[3] for call in progress.of("ended", slug)}
        assert started == ended  # every task that started ended, under the same key
        assert {"prepare", "quick", "refit", "damping", "finish"} <= set(started.values())
        refit_seconds = [call[4] for call in progress.of("ended", slug) if call[3] == "refit"]
        assert all(seconds > 0 for seconds in refit_seconds)
        # as many refits ran as were counted fitted
        assert len(refit_seconds) == len(progress.of("fitted", slug))


def test_a_pair_waits_while_another_pairs_tasks_run_on_the_one_worker(told):
    progress, _, _ = told
    assert progress.seen_waiting, "with one worker thread, one of the pairs waited for it"


def test_the_fits_planned_never_grow_and_are_all_handed_to_the_cluster(told):
    progress, _, _ = told
    for slug in PAIRS:
        totals = [call[2] for call in progress.of("planned", slug)]
        assert totals == sorted(totals, reverse=True), totals  # planned once, then only less
        done = len(progress.of("fitted", slug))
        assert totals[-1] == done + 1  # the refits fitted and the final fit
        assert sum(call[2] for call in progress.of("queued", slug)) == totals[-1]
        assert progress.of("served", slug)[-1] == ("served", slug, "backtested")


def test_a_pair_that_fails_is_named_with_why_and_nothing_is_promised_for_it(told):
    progress, failed, logged = told
    assert list(failed) == [MISSING]
    assert progress.of("failed", MISSING) == [("failed", MISSING, failed[MISSING])]
    assert "NOSUCH" in failed[MISSING]
    about = [line for line in logged if line.startswith(MISSING)]
    assert not any("comes" in line or "until its backtested model" in line for line in about)
    assert not progress.of("served", MISSING)
