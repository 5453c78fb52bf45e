"""Issue 83, bar 2: the project files whose code runs on a steady-state `GET /bitcoin` re-anchored
by the latest price, over the synthetic model directory of `bench.bodies` (BTC/USD hourly, its
latest price from minute bars two hours past its data).

`python -m bench.rooms` serves the app as `python api.py` does (through `Reloading`, which
swaps in the artifacts training writes), warms it up, then follows every Python call
(`sys.setprofile`, on the thread that answers) through a few requests as the server makes them
(Werkzeug's test client calls the WSGI app as Waitress does), and prints each file under
`cryptopredict/` that ran, with its functions; exit 1 above `BAR` files.
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

from werkzeug.test import Client

from bench.bodies import served
from cryptopredict.api.reloading import Reloading

BAR = 8
URL = "/bitcoin?date=2026-07-27T12:00:00Z"  # after the latest price: answered from it
PACKAGE = Path(__file__).parents[1] / "cryptopredict"


def rooms(requests: int = 5) -> dict[str, set[str]]:
    """Each project file that ran (relative to the repository) with its functions that ran."""
    ran: dict[str, set[str]] = defaultdict(set)

    def follow(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            ran[frame.f_code.co_filename].add(frame.f_code.co_name)

    with tempfile.TemporaryDirectory() as out:
        app = served(Path(out))
        client = Client(Reloading(lambda: app, Path(out) / "models").wsgi)  # type: ignore[arg-type]
        for _ in range(20):
            answer = client.get(URL)
            assert answer.json is not None
            assert answer.json["anchor"]["source"] != "model", "not re-anchored"
        sys.setprofile(follow)
        try:
            for _ in range(requests):
                client.get(URL)
        finally:
            sys.setprofile(None)
    return {
        str(Path(name).relative_to(PACKAGE.parent)): functions
        for name, functions in sorted(ran.items())
        if Path(name).is_relative_to(PACKAGE)
    }


def main() -> int:
    found = rooms()
    for name, functions in found.items():
        print(f"{name}: {', '.join(sorted(functions))}")
    print(f"{len(found)} project files run on GET {URL} (bar: at most {BAR})")
    return 0 if len(found) <= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
