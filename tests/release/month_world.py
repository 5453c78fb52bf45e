"""The world a simulated month of releases runs in (tests/release/month.py): GitHub's REST API
(the repository set up as `tools.release setup` leaves it, the package's versions, the
repository's issues), Render (the deploy hook and the service's /healthz) and a registry that
asks for a login (Debian's docker-registry with htpasswd: tests/release/oci_registry.py) behind
a proxy that injects its faults, all on loopback ports; the fault table the stand-ins on the
jobs' PATH ask (tests/release/month_tools.py); and what production serves, hour by hour.

Time is simulated: `now` is the month's clock, set by the simulation before each run. Where the
release's tooling compares a time GitHub gives with its own clock (the package versions'
`created_at`), the answer is that time as far before the wall clock as it is before `now`.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import Loopback, reply
from tests.release.ghcr import Package
from tests.release.github_fork import LIMITED, SERVER_ERRORS, Fork
from tests.release.oci_registry import LocalRegistry, digest_of
from tests.release.osv import Feed

HOUR = 3600
REPOSITORY = "octo/cryptopredict"
NAME = "octo/cryptopredict"  # the image's name in the registry
VERSIONS = f"/users/octo/packages/container/{NAME.split('/')[1]}/versions"
CYCLE_HOURS = 6
CYCLE_MINUTE = 23 / 60  # the schedule's cron: minute 23 of every sixth hour
FRESH_HOURS = 12
# Where a job waits (a back-off, a hang, its timeout-minutes), the month's clock runs this many
# times faster than the wall's.
TIME_SCALE = 30
# Each kind of fault: what it strikes, and the words that say it where the owner looks (none:
# its own, month_report.said_words).
KINDS = {
    "gh-503": ("gh", "re-run"),
    "gh-timeout": ("gh", "re-run"),
    "registry-503": ("registry", "re-run"),
    "registry-timeout": ("registry", "re-run"),
    "base-image-429": ("base-image", "re-run"),
    "advisory": ("audit", ""),
    "failed-push": ("make-test", ""),
    "publish-cancelled": ("publish", ""),
    "rollback": ("main", "revert"),  # the audit's, where the revert undoes a security bump
    "retention-refusal": ("retention", "Admin"),
    "schedule-dropped": ("schedule", "production-stale"),  # GitHub's own: said by the catch-all
    "schedule-delayed": ("schedule", "production-stale"),
    "render-hook-refused": ("render-hook", "production-not-updated"),  # the production job's
    "render-keeps-old-image": ("render-hook", "production-not-updated"),
    "render-unhealthy": ("render-health", "production-stale"),
    "github-api-5xx": ("github-api", "re-run"),
    "registry-push-503": ("registry-push", "re-run"),
    "attestation-outage": ("attestation", "could not be attested"),  # past its three tries
    "issues-disabled": ("issues", "Issues are disabled"),  # a red run, GitHub's mail of it
    "render-cold-start": ("render-wake", "woken"),  # woken within its run: nothing to say
    "cache-export-denied": ("cache-export", "re-run"),
    "github-rate-limit": ("github-limit", "re-run"),
    "answer-lost": ("answer-lost", "re-run"),  # GitHub acted, its answer never came
    "run-queued": ("run-queued", "re-run"),
    "registry-tag-delay": ("registry-tag", "re-run"),
    "registry-token-503": ("registry-token", "re-run"),
    "runner-lost": ("runner", "re-run"),
    "clock-skew": ("clock", "re-run"),
    "render-stuck": ("render-hook", "production-not-updated"),
    "schedule-off": ("schedule", "production-stale"),  # until the owner runs setup
    # BUILD=real's only (its training asks the exchanges), for `hours`: said by the catch-all
    "exchange-outage": ("exchange", "production-stale"),
    "exchange-451": ("exchange", "production-stale"),
    "exchange-shape": ("exchange", "production-stale"),
    "exchange-stale": ("exchange", "production-stale"),
    "exchange-429": ("exchange", "production-stale"),
    "exchange-418": ("exchange", "production-stale"),
    "exchange-delisted": ("exchange", "production-stale"),
    "exchange-empty-page": ("exchange", "production-stale"),
}
EXCHANGE_KINDS = tuple(kind for kind, (target, _) in KINDS.items() if target == "exchange")
START_ANEW = re.compile(r"start(?:s|ing)? the track record anew|start-anew saying why", re.I)
# How long the registry's stand-in keeps a request unanswered for a time-out: longer than the
# release tooling's 10 s.
HANG_SECONDS = 11.0
# How long GHCR takes to serve a tag it was just given (month seconds): its reads are eventual.
TAG_DELAY = 15.0


@dataclass
class Fault:
    """One fault of the script, armed at `hour`: it strikes the next `count` calls of its
    `target` (gh, registry, base-image, make-test, publish, retention, audit)."""

    kind: str
    hour: float
    target: str
    count: int
    spec: dict[str, Any]
    hits: list[dict[str, Any]] = field(default_factory=list)
    person: str = ""  # what the owner did, when the script says they act


@dataclass
class Build:
    digest: str
    build_tag: str
    sha: str
    data_until: int  # epoch seconds: the close of its newest bar
    built_at: float  # simulated epoch seconds
    source: str  # BTC/USD's bars': `synthetic`, `alpaca`, `binance` or `carried` (not trained)
    hosts: str = ""  # BUILD=real's: Binance's hosts as its calls met them, with their answers


def iso(at: float) -> str:
    """A simulated instant as GitHub and /healthz write it."""
    return f"{datetime.fromtimestamp(at, UTC):%Y-%m-%dT%H:%M:%SZ}"


class World:
    """Every stand-in's state, served from its making until `stop()`."""

    def __init__(self) -> None:
        self.now = 0.0  # simulated epoch seconds
        self.run_label = ""  # the run going on, for the faults' record
        self.moved_in_run = 0  # the image tags it moved so far
        self.waking = 0.0  # time.monotonic() until which production, waking, does not answer
        self.armed: list[Fault] = []
        self.lock = threading.Lock()
        self.builds: dict[str, Build] = {}
        self.deploys: list[tuple[float, str]] = []  # (simulated time, digest) production got
        self.deploy_delay = HOUR  # a run's deploy comes an hour after it starts
        self.tag_moves: list[tuple[float, str, str]] = []  # (simulated time, tag, digest)
        self.package = Package("octo", NAME.split("/")[1])  # GitHub's packages API of it
        self.running: set[int] = set()  # the dispatched runs started
        self.releasing: set[int] = set()  # and not yet over: the simulation's state not back
        self.late: dict[int, float] = {}  # how long a dispatched run was queued (month seconds)
        self.skew = 0.0  # seconds GitHub's clock is ahead of the runners'
        self.readable: dict[str, float] = {}  # a tag moved: time.monotonic() GHCR serves it at
        self.start_run: Callable[[int], None] = lambda number: None  # the simulation's
        self.feed = Feed()  # OSV's vulnerability feed, as pip-audit asks it
        self.registry = LocalRegistry(private=True)
        # The repository as setup leaves it, asked with a job's token, its runs the month's;
        # its package GitHub's packages API does not know (the registry's 404 is the first
        # release's).
        self.fork = Fork.set_up(job_token=True, package=None, runs=[])
        self.issues = self.fork.issues  # as GitHub's API keeps them
        self._servers = contextlib.ExitStack()
        self.url = self._serve(self._github)
        host = urllib.parse.urlsplit(self.url).netloc
        self.fork.host = self.package.github.host = host
        self.proxy = self._serve(self._registry)

    # The faults.

    def arm(self, fault: Fault) -> None:
        with self.lock:
            self.armed.append(fault)

    def consume(self, target: str, detail: str, *, after_a_move: bool = False) -> Fault | None:
        """The armed fault that strikes this call of `target`, if one does (and its hit); with
        `after_a_move`, only once this run moved an image tag."""
        with self.lock:
            if after_a_move and not self.moved_in_run:
                return None
            for fault in self.armed:
                if (
                    fault.target == target
                    and len(fault.hits) < fault.count
                    and fault.spec.get("call", "") in detail
                    and self.hour() < fault.hour + (fault.spec.get("hours") or math.inf)
                ):
                    hit = {"hour": self.hour(), "run": self.run_label, "call": detail[:200]}
                    fault.hits.append(hit)
                    return fault
        return None

    def hour(self, at: float | None = None) -> float:
        return round(((self.now if at is None else at) - self.start) / HOUR, 2)

    start = 0.0  # the month's first instant, set by the simulation

    # What production serves.

    def production(self, at: float) -> Build | None:
        """The image production served at simulated time `at`."""
        digest = next((d for when, d in reversed(self.deploys) if when <= at), None)
        return self.builds.get(digest or "")

    # The servers.

    def _serve(self, answer: Callable[[BaseHTTPRequestHandler, str], None]) -> str:
        world = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept alive, as gh and skopeo expect

            def date_time_string(self, timestamp: float | None = None) -> str:
                return email.utils.formatdate(time.time() + world.skew, usegmt=True)

        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT"):
            setattr(Handler, f"do_{method}", lambda handler, m=method: answer(handler, m))
        return self._servers.enter_context(Loopback(Handler)).url

    def stop(self) -> None:
        self._servers.close()
        self.registry.stop()

    def _github(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path, _, query = handler.path.partition("?")
        asked = dict(urllib.parse.parse_qsl(query))
        if path == "/healthz" and self.asleep():
            handler.close_connection = True  # Render starts the instance: no answer yet
            return
        lost = method == "POST" and self.consume("answer-lost", path)
        kept = self._refused(path) or self.feed.handle(method, path, body)
        status, document, *headers = kept or self._answer(method, path, asked, body)
        if lost:
            handler.close_connection = True  # GitHub acted; its answer never came back
            return
        reply(handler, status, document, headers=(headers or [{}])[0].items())

    def _refused(self, path: str) -> tuple | None:
        """GitHub's answer where a fault strikes this call: its server errors in turn, its rate
        limits in turn (a 403 past x-ratelimit-remaining, a 429 with retry-after, `seconds` on
        the month's clock), Issues off; its clock `seconds` ahead where a skew strikes."""
        if not path.startswith(("/repos/", "/users/")):
            return None
        skewed = self.consume("clock", path)
        self.skew = (skewed.spec.get("seconds") or 600.0) if skewed else 0.0
        if down := self.consume("github-api", path):
            return SERVER_ERRORS[(len(down.hits) - 1) % len(SERVER_ERRORS)]
        if limit := self.consume("github-limit", path):
            wait = math.ceil((limit.spec.get("seconds") or 60) / TIME_SCALE)
            reset = str(int(time.time() + self.skew) + wait)
            if len(limit.hits) % 2:
                return 403, LIMITED, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
            return 429, LIMITED, {"retry-after": str(wait)}
        if path.startswith(f"/repos/{REPOSITORY}/issues") and self.consume("issues", path):
            return 410, {"message": "Issues are disabled for this repo"}
        return None

    def _answer(self, method: str, path: str, asked: dict[str, str], body: bytes) -> tuple:
        told = self._stand_ins(path, asked)
        if told is not None:
            return told
        if path.startswith("/deploy/"):
            return self._deploy(asked.get("imgURL", ""))
        if path.startswith(VERSIONS):
            return self._package(method, path, asked)
        run = re.fullmatch(f"/repos/{REPOSITORY}/actions/runs/(\\d+)", path)
        if run and self._queued(int(run[1])):
            return 200, {"status": "in_progress"}
        asked_of_it = f"{path}?{urllib.parse.urlencode(asked)}"
        return (
            self._health(path)
            or self.fork.handle(method, asked_of_it, body)
            or (404, {"message": "Not Found"})
        )

    def _queued(self, number: int) -> bool:
        """Whether the run `number` is a dispatch's not yet concluded: not yet run, it starts now
        (the simulation's `start_run`), in progress until it concludes."""
        with self.lock:
            shown = next((run for run in self.fork.runs if run["id"] == number), {})
            begin = shown.get("status") == "queued" and number not in self.running
            self.running.add(number)
        if begin:  # GitHub's queue may hold it `minutes` first
            queued = self.consume("run-queued", f"run {number}")
            self.late[number] = (queued.spec.get("minutes") or 60) * 60 if queued else 0.0
            timer = threading.Timer(self.late[number] / TIME_SCALE, self.start_run, (number,))
            timer.daemon = True
            timer.start()
        return shown.get("status") == "queued" or number in self.releasing

    def asleep(self) -> bool:
        """Whether production sleeps (a cold start struck) and is not awake yet: `seconds` (50)
        on the month's clock from the first ask that woke it."""
        struck = time.monotonic() >= self.waking and self.consume("render-wake", "/healthz")
        if struck:
            self.waking = time.monotonic() + (struck.spec.get("seconds") or 50) / TIME_SCALE
        return time.monotonic() < self.waking

    def _health(self, path: str) -> tuple[int, Any] | None:
        """Render's /healthz, of the newest deploy at once."""
        if path != "/healthz":
            return None
        if self.consume("render-health", path):
            return 503, b"Service Unavailable"  # Render's, where no instance is healthy
        if not self.deploys:
            return 200, {"status": "ok", "model_version": ""}
        build = self.builds[self.deploys[-1][1]]
        stale = self.now - build.data_until > FRESH_HOURS * HOUR
        return 200, {
            "status": "degraded" if stale else "ok",
            "model_version": build.build_tag,
            "data_last": iso(build.data_until),
            "stale_after_hours": FRESH_HOURS,
            "stale": ["btc-usd"] if stale else [],
        }

    def _stand_ins(self, path: str, asked: dict[str, str]) -> tuple | None:
        """What the month's stand-ins ask: a fault, the advisories published."""
        if path == "/_month/consume":
            moved = asked.get("after_a_move") == "1"
            fault = self.consume(asked["target"], asked.get("detail", ""), after_a_move=moved)
            return 200, {"kind": fault.kind, **fault.spec} if fault else {}
        if path == "/_month/advisories":
            return 200, self.feed.published
        return None

    def _deploy(self, image: str) -> tuple[int, Any]:
        digest = image.rpartition("@")[2]
        if digest not in self.builds:
            return 400, {"message": f"Render cannot pull {image}"}
        fault = self.consume("render-hook", image)
        if fault and fault.kind == "render-hook-refused":  # its key revoked
            return 404, {"message": "Not Found"}
        if not fault:  # else accepted, and the old image kept serving
            self.deploys.append((self.now + self.deploy_delay, digest))
        return 200, {"deploy": {"id": f"dep-{len(self.deploys)}"}}

    # GitHub's packages API (tests/release/ghcr.py's), each manifest pushed a version.

    def pushed(self, digest: str) -> None:
        with self.lock:
            if digest not in self.package.digests():
                self.package.add(digest, datetime.fromtimestamp(self.now, UTC), [], [])

    def _package(self, method: str, path: str, asked: dict[str, str]) -> tuple:
        if method == "DELETE":
            return self._delete(int(path.rsplit("/", 1)[1]))
        # Its times as far before the wall's clock as they are before the month's.
        self.package.shift = datetime.now(UTC) - datetime.fromtimestamp(self.now, UTC)
        return self.package.handle(method, f"{path}?{urllib.parse.urlencode(asked)}", b"")

    def _delete(self, number: int) -> tuple[int, Any]:
        if self.consume("retention", f"DELETE version {number}"):
            return 403, {"message": "Resource not accessible by integration"}
        version = self.package.versions.pop(number, None)
        if version is None:
            return 404, {"message": "Not Found"}
        self.registry._send("DELETE", f"/v2/{NAME}/manifests/{version.digest}")
        return 204, b""

    # The registry, through a proxy that speaks as GHCR does (a token service, its tags served a
    # while after they move), injects its faults and sees every tag move.

    def _registry(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        asked, reference = f"{method} {handler.path}", handler.path.rpartition("/manifests/")[2]
        login = handler.headers.get("Authorization", "")
        if handler.path.startswith("/token"):  # GHCR's token service: the login, as a token
            struck = self.consume("registry-token", asked)
            status = 503 if struck else 200 if login.startswith("Basic ") else 403
            reply(handler, status, {"token": login[6:]} if status == 200 else {"errors": []})
            return
        if time.monotonic() < self.readable.get(reference, 0) and method in ("GET", "HEAD"):
            reply(handler, 404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})  # not yet
            return
        fault = self.consume("registry", asked) or (
            self.consume("registry-push", asked) if "/blobs/uploads/" in asked else None
        )
        if fault and fault.kind == "registry-timeout":
            time.sleep(HANG_SECONDS)
            handler.close_connection = True
            return
        if fault:
            down = {"code": "UNAVAILABLE", "message": "service unavailable"}
            reply(handler, 503, {"errors": [down]})
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.registry.port, timeout=30)
        headers = {  # a header sent more than once (skopeo's Accept) as one list
            key: ", ".join(handler.headers.get_all(key) or [])
            for key in set(handler.headers.keys())
            if key.lower() not in ("host", "authorization")
        }
        if login:  # the token GHCR's token service gave is the registry's own login
            headers["Authorization"] = login.replace("Bearer ", "Basic ")
        upstream.request(method, handler.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        upstream.close()
        if method == "PUT" and answer.status < 300 and reference.startswith("sha256:"):
            self.pushed(reference)  # a version of the package, as GHCR makes one a manifest
        elif method == "PUT" and answer.status < 300 and not reference.startswith("/"):
            later = self.consume("registry-tag", asked)
            wait = (later.spec.get("seconds") or 100) if later else TAG_DELAY
            with self.lock:  # before the client hears back: its next call sees the move
                self.tag_moves.append((self.now, reference, digest_of(body)))
                self.package.move(reference, digest_of(body))
                self.moved_in_run += 1
                self.readable[reference] = time.monotonic() + wait / TIME_SCALE
        handler.send_response(answer.status)
        scope = f'service="ghcr.io",scope="repository:{NAME}:pull"'
        challenge = f'Bearer realm="{self.proxy}/token",{scope}'
        for key, value in answer.getheaders():  # GHCR's challenge names its token service
            said = challenge if key.lower() == "www-authenticate" else value
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                handler.send_header(key, said.replace(self.registry.url, self.proxy))
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)
