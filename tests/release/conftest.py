from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from tests.loopback import Loopback, reply
from tests.release.oci_registry import LocalRegistry, RegistryUnavailableError


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeServer:
    """A loopback HTTP server answering from a script, recording every request it gets: a path
    given its own answer (`route`, with or without its query) gets it every time; any other
    request the handler's answer where it gives one, else the next scripted answer (`answer`; the
    last one again once the script is done)."""

    url: str
    answers: list[Answer] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    routes: dict[str, Answer] = field(default_factory=dict)
    # Answers a request no route takes, given (method, path, body), with (status, body[,
    # headers]), where a test keeps state (a repository GitHub's API changes); None leaves it to
    # the script.
    handler: Callable[[str, str, bytes], tuple | None] | None = None
    # What a client asks the token service that challenge names, for octo/cryptopredict.
    token_path = "/token?service=ghcr.io&scope=repository%3Aocto%2Fcryptopredict%3Apull"

    def answer(self, status: int, body: bytes | str, headers: dict[str, str] | None = None) -> None:
        encoded = body.encode() if isinstance(body, str) else body
        self.answers.append(Answer(status, encoded, dict(headers or {})))

    def route(
        self, path: str, status: int, body: bytes | str, headers: dict[str, str] | None = None
    ) -> None:
        encoded = body.encode() if isinstance(body, str) else body
        self.routes[path] = Answer(status, encoded, dict(headers or {}))

    def challenge(self) -> dict[str, str]:
        """GHCR's 401 challenge for octo/cryptopredict, its token service this server's."""
        scope = 'service="ghcr.io",scope="repository:octo/cryptopredict:pull"'
        return {"WWW-Authenticate": f'Bearer realm="{self.url}/token",{scope}'}

    def reply_to(self, method: str, path: str, body: bytes) -> Answer:
        for key in (path, path.split("?", 1)[0]):
            if key in self.routes:
                return self.routes[key]
        handled = self.handler and self.handler(method, path, body)
        if handled:
            return Answer(*handled)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    def respond(handler: BaseHTTPRequestHandler, method: str) -> None:
        fake.requests.append((method, handler.path))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        answer = fake.reply_to(method, handler.path, body)
        reply(handler, answer.status, answer.body, headers=answer.headers.items())

    methods = ("GET", "POST", "PUT", "DELETE", "PATCH")
    every = {f"do_{m}": lambda handler, m=m: respond(handler, m) for m in methods}
    with Loopback(type("Handler", (BaseHTTPRequestHandler,), every)) as served:
        fake = FakeServer(served.url)
        yield fake


@pytest.fixture(autouse=True)
def _no_waiting_between_tries(monkeypatch):
    """A transient failure is tried again at once (tools/release/retry.py): a test that wants
    the delays sets its own."""
    monkeypatch.setenv("RELEASE_RETRY_DELAYS", "0 0")


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps (the deploy's wait:
    tools/release/render.py's `time`)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("tools.release.render.time", fake)
    return fake


def _registry(private: bool = False) -> Iterator[LocalRegistry]:
    try:
        registry = LocalRegistry(private=private)
    except RegistryUnavailableError as error:
        pytest.skip(str(error))
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def oci_registry() -> Iterator[LocalRegistry]:
    """A real registry (Debian's docker-registry) for the module's tests, each pushing under a
    repository name of its own."""
    yield from _registry()


@pytest.fixture
def registry_of_its_own() -> Iterator[LocalRegistry]:
    """A real registry, empty, for one test."""
    yield from _registry()


@pytest.fixture
def private_registry() -> Iterator[LocalRegistry]:
    """A real registry, empty, that answers only a client logged in (a private package)."""
    yield from _registry(private=True)
