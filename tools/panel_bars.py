"""The bars a band is held to on the panel's evaluation origins (docs/model.md, "The bars"),
from its figures pooled over the spot pairs; the band search's last step is served only where
the band with it holds every one (`tools/panel.py`'s `gated`).
"""

from __future__ import annotations

from tools.joint_coverage import rule
from tools.peer_bands import PEERS

COVERAGE = {"1h": (0.77, 0.83), "1d": (0.77, 0.83), "7d": (0.76, 0.84)}
TIE = 2.0  # standard errors within which a peer's difference is a tie
AHEAD = ("1d",)  # horizons where the served band must be ahead of every peer beyond TIE


def bars(pooled: dict[str, dict], peers: dict[str, dict] | None = None) -> dict:
    """Each clause's figures and every breach, said plainly (none: the band holds them all);
    without `peers` (the panel's `peers` figures), the peers' clauses are not checked."""
    tables = rule(pooled)
    breaches = list(tables["breaches"])
    coverage = {}
    for label, (low, high) in COVERAGE.items():
        coverage[label] = pooled[label]["coverage"]["80"]
        if not low <= coverage[label] <= high:
            breaches.append(
                f"{label} 80% coverage {coverage[label]:.1%} outside [{low:.0%}, {high:.0%}]"
            )
    if peers is not None:
        breaches += _peer_breaches(peers)
    return {
        "coverage_80": coverage,
        "peers_checked": peers is not None,
        "rule": tables,
        "breaches": breaches,
        "holds": not breaches,
    }


def _peer_breaches(peers: dict[str, dict]) -> list[str]:
    breaches = []
    for label in COVERAGE:
        for name in PEERS:
            found = peers[label][name]
            diff, se = found["served_minus_this"], found["served_minus_this_se"]
            gap = f"{diff * 100:+.2f} points of naive (SE {se * 100:.2f})"
            if diff > TIE * se:
                breaches.append(f"{label} {name} better than the served band: {gap}")
            elif label in AHEAD and not diff < -TIE * se:
                breaches.append(f"{label} the served band not ahead of {name}: {gap}")
    return breaches
