"""What the API serves: one `CatalogEntry` per artifact of the store, found by slug or symbol in
any case, searched, filtered and ordered. An artifact opens on the first request that needs it,
and only the `ACTIVE` most recent keep their memory; one that cannot be opened answers 503
`asset_unavailable`. A pair the run training into the model directory has not written yet (or
written, before the next look at the index serves it) answers 503 `still_training`, not 404."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import msgspec

from cryptopredict.api.errors import StillTrainingError, UnavailableAssetError, UnknownAssetError
from cryptopredict.api.serving.candles import CandleSource, StoredCandles
from cryptopredict.api.serving.forecast import DAY, Forecast, LatestPrice, closing
from cryptopredict.api.types.forecast import AnchorSource
from cryptopredict.api.types.market import TrainingPair, TrainingProgress
from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.index import read_index
from cryptopredict.artifact.read import TRAIN_FIRST, Artifact, cached
from cryptopredict.artifact.run import PairFailure, RankedPair, RunRecordError, read_run
from cryptopredict.artifact.schema import MANIFEST, IndexEntry
from cryptopredict.artifact.store import ArtifactStore
from cryptopredict.artifact.training import read_status
from cryptopredict.assets import BITCOIN
from cryptopredict.candles import Interval
from cryptopredict.utc import iso_utc

log = logging.getLogger(__name__)
SWAPPED_IN = "its model is written, and served within seconds"

NAMED = 10  # at most this many slugs in the detail of an unknown asset
ACTIVE = 4  # artifacts that keep their memory, the most recently used
RETRY_SECONDS = 10  # for a pair still training: its model comes within a minute
JOINING_SECONDS = 1  # for one written: the server looks at the index every second


@dataclass(frozen=True)
class Opened:
    artifact: Artifact
    forecast: Forecast
    candles: CandleSource


class CatalogEntry:
    def __init__(self, slug: str, catalog: Catalog, ranked: RankedPair | None) -> None:
        self.slug, self.catalog = slug, catalog
        self.base, _, self.quote = slug.rpartition("-")
        self.ranked = ranked  # its place in the market, when `top:N` chose it

    @property
    def info(self) -> IndexEntry:
        return self.catalog.store.entry(self.slug)

    @property
    def symbol(self) -> str:
        return self.info.symbol

    @property
    def step(self) -> int:
        return Interval.parse(self.info.interval).seconds

    @property
    def data_until(self) -> int:
        return closing(self.info.last_bar, self.step)

    @property
    def valid_from(self) -> int:
        return closing(self.info.grid_first, self.step)

    @property
    def valid_until(self) -> int:
        return min(closing(self.info.grid_last, self.step), self.data_until + self.catalog.horizon)

    def starts_from(self) -> tuple[AnchorSource, int]:
        """Where an answer for the next hour starts now, and the instant of that price."""
        price = self.catalog.latest(self.slug)
        if price is not None and price.epoch > self.data_until:
            return price.source, price.epoch
        return AnchorSource.MODEL, self.data_until

    @property
    def artifact(self) -> Artifact:
        return self._used().artifact

    @property
    def forecast(self) -> Forecast:
        return self._used().forecast

    @property
    def candles(self) -> CandleSource:
        return self._used().candles

    def _used(self) -> Opened:
        opened = self._opened
        self.catalog.used(self)
        return opened

    @cached
    def _opened(self) -> Opened:
        try:
            artifact = self.catalog.store[self.slug]
        except ArtifactError as error:
            store = self.catalog.store
            raise UnavailableAssetError(unavailable(self.slug, str(error), store)) from None
        forecast = Forecast(
            artifact,
            max_horizon_days=self.catalog.horizon / DAY,
            latest=partial(self.catalog.latest, self.slug),
            note_after_hours=self.catalog.note_after_hours,
        )
        return Opened(
            artifact,
            forecast,
            StoredCandles(artifact.history, forecast.interval, artifact.manifest.symbol),
        )


class Catalog:
    """The served assets by slug; the default one is BTC/USD when served, else the first. Empty
    (no default) while a training run writes the first into the model directory."""

    def __init__(
        self,
        artifacts: Mapping[str, Artifact],
        *,
        max_horizon_days: float,
        note_after_hours: float = math.inf,
        latest: Callable[[str], LatestPrice | None] = lambda _: None,
    ) -> None:
        store = artifacts if isinstance(artifacts, ArtifactStore) else ArtifactStore.of(artifacts)
        if not len(store) and not (store.model_dir and read_status(store.model_dir)):
            failed = next(iter(store.failures.values()), TRAIN_FIRST)  # else it is being written
            where = f" in {store.model_dir}" if store.model_dir else ""
            raise ArtifactError(f"no artifact to serve{where}; {failed}")
        self.store = store
        self.horizon = round(max_horizon_days * DAY)
        self.note_after_hours, self.latest = note_after_hours, latest
        try:  # the last training run's record
            run = read_run(store.model_dir) if store.model_dir is not None else None
        except RunRecordError as error:
            log.warning("not describing the last training run: %s", error)
            run = None
        self.run = run
        self._recent: OrderedDict[str, CatalogEntry] = OrderedDict()
        self._last: CatalogEntry | None = None
        self._recent_lock = threading.Lock()
        self._assets = {
            slug: CatalogEntry(slug, self, run.rank_of(slug) if run is not None else None)
            for slug in store
        }
        self.default = BITCOIN if BITCOIN in self._assets else next(iter(self._assets), None)

    def __getitem__(self, name: str) -> CatalogEntry:
        slug = name.strip().lower().replace("/", "-")
        served = self._assets.get(slug)
        if served is not None:
            return served
        failure = self.store.failures.get(slug)
        if failure is not None:
            raise UnavailableAssetError(unavailable(slug, failure, self.store))
        if self._written(slug):
            said = f"{slug} is still training ({SWAPPED_IN}); ask again in {JOINING_SECONDS} s"
            raise StillTrainingError(said, retry_after=JOINING_SECONDS)
        running = self.training()
        pairs = running.pairs if running else []
        pair = next((pair for pair in pairs if pair.asset == slug), None)
        if pair is not None:
            said = (
                f"{slug} is still training ({pair.step}): it is served as soon as its model is "
                f"written, usually within a minute of the run's start; ask again in "
                f"{RETRY_SECONDS} s (`/healthz` shows every pair's progress)"
            )
            raise StillTrainingError(said, retry_after=RETRY_SECONDS)
        raise UnknownAssetError(self._unknown(name, slug))

    def used(self, served: CatalogEntry) -> None:
        if served is self._last:  # the usual case under load: one pair asked again and again
            return
        with self._recent_lock:
            self._last = served
            self._recent[served.slug] = served
            self._recent.move_to_end(served.slug)
            while len(self._recent) > ACTIVE:
                _, idle = self._recent.popitem(last=False)
                idle._opened.artifact.release()  # opened: it was used

    def training(self) -> TrainingProgress | None:
        return training_progress(self.store.model_dir, {*self._assets, *self.store.failures})

    def _written(self, slug: str) -> bool:
        """Whether `slug`'s artifact is written (in the index, and there), to be served next."""
        model_dir = self.store.model_dir
        try:
            index = read_index(model_dir) if model_dir else None
        except ArtifactError:
            return False
        return bool(
            index and model_dir and slug in index and (model_dir / slug / MANIFEST).is_file()
        )

    def _unknown(self, name: str, slug: str) -> str:
        said = f"no asset {name[:32]!r} is served here"
        base = slug.rpartition("-")[0]
        near = [served.slug for served in self if base and served.base == base]
        if near:
            return f"{said}; {' or '.join(near[:NAMED])} is (the same base, another quote)"
        slugs = list(self._assets)
        known = ", ".join(slugs[:NAMED]) or "none yet (`/healthz` shows training's progress)"
        if len(slugs) > NAMED:
            known += f" and {len(slugs) - NAMED} more (`/assets` lists them, `/assets?q=` searches)"
        return f"{said}; known: {known}"

    def __contains__(self, slug: str) -> bool:
        return slug in self._assets

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._assets.values())

    def __len__(self) -> int:
        return len(self._assets)

    def stale(self, after_hours: float, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        return [served.slug for served in self if now - served.info.last_bar > after_hours * 3600]

    def failures(self) -> dict[str, str]:
        return {
            slug: unavailable(slug, problem, self.store)
            for slug, problem in sorted(self.store.failures.items())
        }

    def listing(
        self,
        *,
        text: str | None = None,
        quote: str | None = None,
        interval: str | None = None,
        sort: str | None = None,
    ) -> list[CatalogEntry]:
        found = list(self)
        if text is not None:
            wanted = text.lower().replace("/", "-")
            ranks = {served.slug: match_rank(served, wanted) for served in self}
            found = sorted(
                (served for served in self if ranks[served.slug] is not None),
                key=lambda served: (ranks[served.slug], served.slug),
            )
        if quote is not None:
            found = [served for served in found if served.quote == quote.lower()]
        if interval is not None:
            found = [served for served in found if served.info.interval == interval]
        if sort == "rank":  # unranked after the ranked
            return sorted(found, key=lambda on: (on.ranked.rank if on.ranked else 1 << 30, on.slug))
        if sort == "slug":
            return sorted(found, key=lambda served: served.slug)
        return found


def match_rank(served: CatalogEntry, wanted: str) -> int | None:
    """How well `wanted` (lower case, `/` as `-`) names `served`, 0 best; None if it does not:
    0 the slug or symbol itself, 1 the base, 2 the start of the slug, 3 inside the base,
    4 the quote, 5 anywhere in the slug or symbol."""
    symbol = served.symbol.lower().replace("/", "-")
    checks = (
        wanted in (served.slug, symbol),
        wanted == served.base,
        served.slug.startswith(wanted),
        wanted in served.base,
        wanted == served.quote,
        wanted in served.slug or wanted in symbol,
    )
    return next((rank for rank, matched in enumerate(checks) if matched), None)


def unavailable(slug: str, problem: str, store: ArtifactStore) -> str:
    if store.model_dir is not None:
        problem = problem.replace(f"{store.model_dir}/", "")
    return f"the {slug} artifact cannot be served: {problem}. The other assets are served"


def training_progress(
    model_dir: Path | None, served: Container[str] = ()
) -> TrainingProgress | None:
    """The run training into the model directory, while it has a pair unfinished, or done and
    not yet among those `served` (the server swaps it in within a second)."""
    status = read_status(model_dir) if model_dir else None
    if status is None:
        return None
    written = tuple(
        msgspec.structs.replace(pair, state="running", step=SWAPPED_IN)
        for pair in status.ended("done")
        if pair.asset not in served
    )
    coming = status.unfinished() + written
    if not coming:
        return None
    return TrainingProgress(
        updated_at=iso_utc(int(status.updated_at.timestamp())),
        eta_seconds=_seconds(status.eta_seconds, status.updated_at),
        pairs=[
            TrainingPair(
                asset=pair.asset,
                state="running" if pair.state == "running" else "waiting",
                step=pair.step,
                eta_seconds=_seconds(pair.eta_seconds, status.updated_at),
            )
            for pair in coming
        ],
        failed=[
            PairFailure(asset=pair.asset, reason=pair.why or "not said")
            for pair in status.ended("failed")
        ],
    )


def _seconds(value: float | None, said: datetime) -> int | None:
    """What is left now of `value` seconds said then, rounded up: never 0 while it trains."""
    return None if value is None else max(1, math.ceil(value - (time.time() - said.timestamp())))
