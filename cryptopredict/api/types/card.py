"""The parts of the model card (`/model/{asset}`) and its backtest: each answers for a type of the
artifact (`mirrors`), filled from it attribute by attribute (`of`), by the fields' names in code,
never their keys on disk. A part declares a field itself where the answer orders or requires it
otherwise."""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

import msgspec

from cryptopredict.api.types.common import Answer
from cryptopredict.artifact import schema

Part = TypeVar("Part", bound=msgspec.Struct)
PARTS: dict[type, type] = {}  # each type of the artifact answered, and the part answering it
HORIZON_KEYS = {"h1": "1h", "d1": "1d", "d7": "7d", "d30": "30d"}  # in the answers' JSON


def of(stored: object, part: type[Part]) -> Part:
    return msgspec.convert(stored, part, from_attributes=True)


def answered(kind: Any) -> Any:
    """`kind`, a field's type, with each type of the artifact in it the part answering it."""
    if kind in PARTS:
        return PARTS[kind]
    args = typing.get_args(kind)
    if not args:
        return kind
    origin = typing.get_origin(kind)
    return (typing.Union if origin is types.UnionType else origin)[tuple(map(answered, args))]


class Mirroring(msgspec.StructMeta):
    """Makes a part answering the artifact's type `mirrors` (a class keyword): each field of it
    that the part does not declare, before those it declares, of its type `answered`, with its
    default (none with `defaults=False`), and its docstring where the part has none. The part
    then answers for that type in the parts declared after it."""

    def __new__(
        mcls,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        /,
        *,
        mirrors: type[msgspec.Struct] | None = None,
        defaults: bool = True,
        **config: Any,
    ) -> Any:
        if mirrors is not None:
            declared = namespace.get("__annotations__", {})
            inherited = {name for base in bases for name in getattr(base, "__struct_fields__", ())}
            taken = {}
            for field in msgspec.structs.fields(mirrors):
                if field.name not in declared and field.name not in inherited:
                    taken[field.name] = answered(field.type)
                    default = field.default if defaults else msgspec.NODEFAULT
                    if isinstance(default, msgspec.Struct):
                        namespace[field.name] = msgspec.field(default_factory=PARTS[type(default)])
                    elif default is not msgspec.NODEFAULT:
                        namespace[field.name] = default
            namespace["__annotations__"] = {**taken, **declared}
            namespace.setdefault("__doc__", mirrors.__doc__)
        part = super().__new__(mcls, name, bases, namespace, **config)
        if mirrors is not None:
            PARTS[mirrors] = part
        return part


class Whole(Answer, metaclass=Mirroring):
    """Every field written."""


class Sparse(Whole, omit_defaults=True, rename=HORIZON_KEYS):
    """Unset optional fields left out."""


class Repair(Whole, mirrors=schema.RepairCount): ...


class Gaps(Whole, mirrors=schema.GapCount): ...


class ValidationReport(Whole, mirrors=schema.ValidationFindings):
    """What validation repaired and found in the bars."""


class TrainingWindow(Whole, mirrors=schema.FitWindow): ...


class DataSummary(Whole, mirrors=schema.TrainingData): ...


class ModelParams(Sparse, mirrors=schema.ModelConfig, defaults=False):
    """The training configuration and the price the model learns."""


class Postprocess(Whole, mirrors=schema.PostprocessRules):
    """How the model's raw output becomes the served forecast."""


class BandSetting(Sparse, kw_only=True, mirrors=schema.BandSpec):
    """A band: every field of its method, and its name."""


class ServedBand(BandSetting, kw_only=True, mirrors=schema.ServedBandSpec):
    """The served band, and how the hindcast inside the history is made."""


class Settled(Sparse, mirrors=schema.Settlement): ...


class ServedParts(Sparse, mirrors=schema.ServedNames): ...


class WidthFifth(Sparse, mirrors=schema.WidthFifthCoverage): ...


class ModelScores(Sparse, mirrors=schema.ForecastScores): ...


class Comparison(Sparse, mirrors=schema.NaiveComparison):
    """The served model minus the naive one per origin, averaged, with its standard error (a
    flat top over `lags` overlapping origins); scores of a band only when both have one. On the
    80% interval score: the degrees of freedom of its standard error (`df`), the relative
    difference (served - naive) / naive with its standard error and one-sided 95% upper bound,
    and the `verdict`: "better" or "worse" beyond the critical value (two standard errors, or
    Student's t's with `df` where that is larger), else "tie"; "too few windows" where so few
    independent windows were scored that no critical value holds."""


class HorizonScores(Sparse, mirrors=schema.ScoresAtHorizon): ...


class Boundary(Sparse, mirrors=schema.SpanBoundary): ...


class BacktestSummary(Sparse, mirrors=schema.EvaluationScores): ...


class Horizon(Whole, mirrors=schema.GridSpan): ...


class NaiveBand(Sparse, mirrors=schema.NaiveForecast):
    """The naive forecast made at the last bar, as the backtest scores naive's: the last price,
    and per level (keyed by percent as text) the log offsets of its band's lower and upper
    bounds at the calibrated horizons `hours`; in between linear from 0 at lead 0, past the last
    as sqrt(lead), never narrowing along lead."""


class BandCandidate(BandSetting, kw_only=True, mirrors=schema.ScoredBandSpec): ...


class PoolScores(Sparse, kw_only=True, mirrors=schema.PoolCandidate): ...


class MixScores(Sparse, kw_only=True, mirrors=schema.MixCandidate): ...


class PoolChoice(Sparse, mirrors=schema.PoolSearch): ...


class MixChoice(Sparse, mirrors=schema.MixSearch): ...


class BandChoice(Sparse, mirrors=schema.BandSearch): ...


class HindcastCoverage(Sparse, mirrors=schema.HindcastCheck): ...


class PastForecast(Sparse, mirrors=schema.PastPath): ...


class Backtest(Sparse, omit_defaults=False, mirrors=schema.BacktestReport):
    """The summary, the choices it rests on, the hindcast's coverage and the past forecasts; all
    but the hindcast are null for a model trained without a backtest."""
