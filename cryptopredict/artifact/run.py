"""`<model_dir>/run.json`: what the last `train.py --all` was asked for, trained and failed to
train, and for `top:N` how the market ranked the pairs (msgspec alone)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec

from cryptopredict.atomic import write_file

RUN = "run.json"
RUN_VERSION = 1


class RankedPair(msgspec.Struct, frozen=True, kw_only=True):
    asset: str  # btc-usdt
    symbol: str  # the exchange's: BTCUSDT
    rank: int  # 1: the most traded
    quote_volume: float  # traded in the 24 hours, in the quote currency


class LeftOut(msgspec.Struct, frozen=True, kw_only=True):
    """A pair that traded more than the last one ranked, and why it is not a market here."""

    symbol: str
    quote_volume: float
    why: str


class MarketRanking(msgspec.Struct, frozen=True, kw_only=True):
    """`top:N`: the N pairs ranked, most traded first."""

    asked: int
    as_of: datetime  # the end of the 24 hours the volumes cover
    by: str  # what was ranked, and by what
    pairs: tuple[RankedPair, ...]
    left_out: tuple[LeftOut, ...] = ()


class PairFailure(msgspec.Struct, frozen=True, kw_only=True):
    asset: str
    reason: str


class TrainingRun(msgspec.Struct, frozen=True, kw_only=True):
    version: int = RUN_VERSION
    asked: str  # the ASSETS setting: slugs, or top:N
    finished_at: datetime
    model_version: str
    trained: tuple[str, ...]  # every pair served
    failed: tuple[PairFailure, ...] = ()
    carried: tuple[PairFailure, ...] = ()  # failed, the previous release's model served again
    ranking: MarketRanking | None = None
    extends: str | None = None  # the release image, by digest, whose track record this extended
    seconds: dict[str, float] = {}  # each pair's time on a worker when it last trained

    def rank_of(self, asset: str) -> RankedPair | None:
        if self.ranking is None:
            return None
        return next((pair for pair in self.ranking.pairs if pair.asset == asset), None)


class RunRecordError(ValueError):
    """`run.json` is not a record this code reads; the message names the file."""


def write_run(model_dir: Path, run: TrainingRun) -> Path:
    target = model_dir / RUN
    write_file(target, msgspec.json.format(msgspec.json.encode(run), indent=1) + b"\n")
    return target


def read_run(model_dir: Path) -> TrainingRun | None:
    """None without one; RunRecordError when it is unusable."""
    file = Path(model_dir) / RUN
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RunRecordError(f"{file}: cannot be read ({error.strerror})") from None
    try:
        return msgspec.json.decode(data, type=TrainingRun)
    except msgspec.DecodeError as error:  # its ValidationError too: a field's type
        raise RunRecordError(f"{file}: not a run record ({error})") from None
