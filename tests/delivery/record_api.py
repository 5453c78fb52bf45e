"""Record what a served model answers to the smoke check's requests, for its tests
(`tests/delivery/recorded_api.json`):

    python -m tests.delivery.record_api --base-url http://127.0.0.1:8080 --date 2026-08-01 \\
        --assets btc-usd,eth-usd

Recorded from `python api.py` serving the model `make e2e` trains (`MODEL_DIR` set to the
directory `python -m tests.e2e.training --where` prints); `test_smoke_api.py` checks that
the real app still answers in the recorded shape.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ci.smoke_http import checks, fetch

RECORDED = Path(__file__).with_name("recorded_api.json")
# /openapi.json (60 kB) is kept to its version, info and the /bitcoin path the check reads.
KEPT_PATHS = ("/bitcoin",)


def record(base_url: str, date: str, assets: list[str]) -> dict:
    routes = {}
    for what, _ in checks(base_url, "", date, assets):
        reply = fetch(base_url + what)
        body = reply.body.decode()
        if what == "/openapi.json":
            spec = json.loads(body)
            paths = {path: spec["paths"][path] for path in KEPT_PATHS}
            body = json.dumps({"openapi": spec["openapi"], "info": spec["info"], "paths": paths})
        routes[what] = {"status": reply.status, "content_type": reply.content_type, "body": body}
    version = json.loads(routes["/healthz"]["body"])["model_version"]
    return {"model_version": version, "date": date, "assets": assets, "routes": routes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.delivery.record_api")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--assets", default="btc-usd,eth-usd")
    args = parser.parse_args(argv)
    recorded = record(args.base_url.rstrip("/"), args.date, args.assets.split(","))
    RECORDED.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORDED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
