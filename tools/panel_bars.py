"""The bars a band is held to (docs/model.md, "The bars"): its calibration on the panel's
evaluation origins, from its figures pooled over the spot pairs (the band search's last step is
served only where the band with it holds them, `tools/panel.py`'s `gated`); and its standing
against every peer on the final test, which no step of the panel chooses on.
"""

from __future__ import annotations

from tools.joint_coverage import rule
from tools.peers import ROWS

COVERAGE = {"1h": (0.77, 0.83), "1d": (0.77, 0.83), "7d": (0.76, 0.84)}
TIE = 2.0  # standard errors within which a peer's difference is a tie
STANDINGS = ("ahead", "tie", "behind")  # the served band against a peer, beyond TIE or within


def standing(diff: float, se: float) -> str:
    """The served band's standing against a peer from its score minus the peer's."""
    return STANDINGS[0] if diff < -TIE * se else STANDINGS[2] if diff > TIE * se else STANDINGS[1]


def bars(pooled: dict[str, dict], final: dict[str, dict] | None = None) -> dict:
    """Each clause's figures and every breach, said plainly (none: the band holds them all);
    with `final` (the panel's `final_test` figures), the served band's standing against each
    peer there, a peer ahead of it beyond two standard errors a breach."""
    tables = rule(pooled)
    breaches = list(tables["breaches"])
    coverage = {}
    for label, (low, high) in COVERAGE.items():
        coverage[label] = pooled[label]["coverage"]["80"]
        if not low <= coverage[label] <= high:
            breaches.append(
                f"{label} 80% coverage {coverage[label]:.1%} outside [{low:.0%}, {high:.0%}]"
            )
    standings: dict[str, dict[str, str]] = {}
    for label, found in (final or {}).items():
        standings[label] = {}
        for name in ROWS:
            diff, se = found[name]["served_minus_this"], found[name]["served_minus_this_se"]
            standings[label][name] = standing(diff, se)
            if standings[label][name] == "behind":
                breaches.append(
                    f"{label} final test: {name} ahead of the served band: "
                    f"{diff * 100:+.2f} points of naive (SE {se * 100:.2f})"
                )
    return {
        "coverage_80": coverage,
        "final_test": standings,
        "rule": tables,
        "breaches": breaches,
        "holds": not breaches,
    }
