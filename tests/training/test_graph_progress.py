"""What training tells its progress (issue 56), on a real cluster (the session's, in this process)
with a stand-in for Prophet's fit (the events are what is checked, not the fit): each pair's
task's start, phases (and its backtest's share done) and end on its worker (so a pair whose
task waits behind another's is seen waiting), every artifact written as soon as its task ends,
and a pair that fails named with why, with no promise in the log of a model that will not come.

BTC/USD and ETH/USD on the embedded daily bars since 2023-06, on one worker thread, beside a
pair no source holds."""

from __future__ import annotations

import threading

import pytest

from cryptopredict.assets import asset_for_symbol
from cryptopredict.config import TrainingSettings
from cryptopredict.model import forecasters
from cryptopredict.model.backtest import DONE
from cryptopredict.training.cli import pair_job, parse_args
from cryptopredict.training.graph import train_pairs
from cryptopredict.training.tasks import BACKTEST, FINAL_STEP, Finished
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

    def started(self, slug, key, step, done):
        self._note("started", slug, key, step, done)
        with self.lock:
            self.running.setdefault(slug, set()).add(key)
            for other in PAIRS:
                if other != slug and not self.running.get(other) and not self._ended(other):
                    self.seen_waiting.add(other)

    def _ended(self, slug) -> bool:
        return any(call[0] in {"served", "failed"} and call[1] == slug for call in self.calls)

    def ended(self, slug, key, step, seconds):
        self._note("ended", slug, key, step, seconds)
        with self.lock:
            self.running.get(slug, set()).discard(key)

    def served(self, slug, path, finished: Finished):
        self._note("served", slug, path)

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
            "cryptopredict.training.graph.log.error",
            lambda message, *values, **_: logged.append(message % values),
        )
        failed = train_pairs(dask_client, jobs, out=out / "artifacts", progress=progress)
    return progress, failed, logged


def test_each_pairs_task_says_when_it_starts_each_phase_and_when_it_ends(told):
    progress, _, _ = told
    for slug in PAIRS:
        started = progress.of("started", slug)
        ended = progress.of("ended", slug)
        keys = {call[2] for call in started}
        assert len(keys) == 1  # one task a pair
        assert {call[2] for call in ended} == keys
        steps = [call[3] for call in started]
        assert steps == ["train", "reading its history", *[BACKTEST] * 3, FINAL_STEP]
        # and the share of its backtest done, twice (issue 106: its own pace)
        assert tuple(call[4] for call in started if call[3] == BACKTEST)[1:] in DONE.values()
        assert ended[0][4] > 0
        (served,) = progress.of("served", slug)
        assert (served[2] / "manifest.json").exists()  # written before it is said served
        assert progress.calls.index(ended[0]) < progress.calls.index(served)


def test_a_pair_waits_while_another_pairs_task_runs_on_the_one_worker(told):
    progress, _, _ = told
    assert progress.seen_waiting, "with one worker thread, one of the pairs waited for it"


def test_a_pair_that_fails_is_named_with_why_and_nothing_is_promised_for_it(told):
    progress, failed, logged = told
    assert list(failed) == [MISSING]
    assert progress.of("failed", MISSING) == [("failed", MISSING, failed[MISSING])]
    assert "NOSUCH" in failed[MISSING]
    about = [line for line in logged if line.startswith(MISSING)]
    assert any("nothing was written" in line for line in about)
    assert not progress.of("served", MISSING)
