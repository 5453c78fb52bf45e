"""`make bench-scale`: training at scale (bench/scale_training.py: pairs per minute on 1 and 2
workers, a cached re-run, then the client's CPU share on a hand-started cluster), then serving
at scale (bench/scale_serving.py); each prints its own table."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import scale_serving, scale_training

REPORT = Path("reports")


def main() -> int:
    scale_training.main(["--json", str(REPORT / "bench-scale-training.json")])
    scale_training.main(["--cluster", "32", "--json", str(REPORT / "bench-scale-cluster.json")])
    return scale_serving.main([])


if __name__ == "__main__":
    sys.exit(main())
