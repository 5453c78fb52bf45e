"""Issue 63, bar 2: one type per concept. No class under `model/` or `artifact/` mirrors another's
fields (a converter between the two would follow): no two share at least four field names and
80% of the smaller one's, besides those both inherit."""

from __future__ import annotations

import importlib
import inspect
from itertools import combinations

from tests.paths import ROOT

FOLDERS = ("model", "artifact")


def classes() -> list[type]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / "cryptopredict" / folder).glob("*.py")):
            module = importlib.import_module(f"cryptopredict.{folder}.{path.stem}")
            found += [
                cls
                for cls in vars(module).values()
                if inspect.isclass(cls) and cls.__module__ == module.__name__
            ]
    return found


def field_names(cls: type) -> set[str]:
    return {name for klass in cls.__mro__ for name in vars(klass).get("__annotations__", {})}


def mirrors(a: type, b: type) -> bool:
    """At least four field names shared, not inherited from a common base, and 80% of the
    smaller class's."""
    inherited = set().union(*(field_names(base) for base in set(a.__mro__) & set(b.__mro__)))
    shared = field_names(a) & field_names(b) - inherited
    smaller = min(len(field_names(a)), len(field_names(b)))
    return len(shared) >= 4 and len(shared) >= 0.8 * smaller


def test_the_reader_finds_fields_and_mirrors():
    from cryptopredict.artifact.schema import BandSpec, Manifest, ScoredBandSpec

    copy = type("Copy", (), {"__annotations__": dict.fromkeys(field_names(BandSpec), "str")})
    assert {"asset", "params", "band"} <= field_names(Manifest)
    assert mirrors(copy, BandSpec)
    assert not mirrors(ScoredBandSpec, BandSpec)  # what a subclass inherits is no mirror


def test_no_two_classes_of_model_and_artifact_mirror_each_other():
    pairs = [
        f"{a.__module__}.{a.__qualname__} ~ {b.__module__}.{b.__qualname__}"
        for a, b in combinations(classes(), 2)
        if mirrors(a, b)
    ]
    assert not pairs
