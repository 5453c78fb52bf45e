"""The API's Waitress adjustments are the documented ones, every other adjustment is Waitress's
default, and `python api.py` serves with exactly those and Python's own GIL switch interval."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from waitress.adjustments import Adjustments

from cryptopredict.api.server import waitress_options
from cryptopredict.config import Server
from tests.paths import ROOT

# Room for slow clients (tests/api/test_server.py opens 1,000 of them), request bodies and
# headers bounded (tests/api/test_request_limits.py), and no Server header.
CHOSEN = {
    "host": "127.0.0.1",
    "port": 8080,
    "threads": 4,
    "connection_limit": 4000,
    "channel_timeout": 15.0,
    "cleanup_interval": 7.5,
    "asyncore_use_poll": True,
    "max_request_body_size": 65536,
    "max_request_header_size": 16384,
    "ident": "",
}


def test_the_waitress_options_are_the_documented_ones():
    assert waitress_options(Server()) == CHOSEN


def test_the_cleanup_follows_the_channel_timeout():
    options = waitress_options(Server(channel_timeout=60.0))
    assert options["channel_timeout"] == 60.0
    assert options["cleanup_interval"] == 30.0
    assert waitress_options(Server(channel_timeout=1.0))["cleanup_interval"] == 1.0


def adjustments(adjusted: Adjustments) -> dict[str, object]:
    names = [name for name in dir(Adjustments) if not name.startswith("_")]
    return {
        name: getattr(adjusted, name)
        for name in names
        if not callable(getattr(Adjustments, name, None))
    }


def test_every_other_adjustment_is_waitress_default():
    ours = adjustments(Adjustments(**waitress_options(Server())))
    stock = adjustments(Adjustments())
    changed = {name for name in stock if ours[name] != stock[name]}
    # Where to listen, room for slow clients, bodies and headers bounded, no Server header;
    # threads is Waitress's 4.
    assert changed == {
        "host",
        "listen",
        "connection_limit",
        "channel_timeout",
        "cleanup_interval",
        "asyncore_use_poll",
        "max_request_body_size",
        "max_request_header_size",
        "ident",
    }
    assert ours["threads"] == stock["threads"] == 4
    assert ours["send_bytes"] == stock["send_bytes"]
    assert ours["asyncore_loop_timeout"] == stock["asyncore_loop_timeout"]


SERVE = """
import json, sys
from cryptopredict.api import server

options = {}

class Listening:
    effective_port = 1

def create_server(app, **given):
    options.update(given)
    return Listening()

default = sys.getswitchinterval()
class Connections:
    def __init__(self, server, limits):
        options["limits"] = repr(limits)
        self.cut = {}

server.create_server = create_server
server.Connections = Connections
server.serve = lambda listening, connections: None
code = server.main()
print(json.dumps({"code": code, "options": options, "switch": sys.getswitchinterval(),
                  "default": default}))
"""


def test_api_py_serves_with_those_options_and_pythons_switch_interval(artifact_dir):
    done = subprocess.run(
        [sys.executable, "-c", SERVE],
        cwd=ROOT,
        env={**os.environ, "MODEL_DIR": str(artifact_dir), "PORT": "0", "HOST": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0, done.stderr
    limits = result["options"].pop("limits")
    assert result["options"] == {**CHOSEN, "port": 0}
    assert limits == (
        "Limits(request_seconds=5.0, answer_seconds=15.0, per_client=100, max_headers=100)"
    )
    assert result["switch"] == result["default"] == 0.005
