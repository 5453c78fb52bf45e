"""The API behind its proxy (`python api.py`, as the image and `make serve` serve it; issue 83,
bar 4): HAProxy's configuration bounds slow-header, pipelining and header-heavy
clients, `/healthz` answering from another client address within a second throughout; a stop
under load answers every request the server received; the server never outlives its proxy."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import resource
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import psutil
import pytest

from cryptopredict.api.server import HAPROXY_CONFIG, POINT_CONNECTIONS, SERVER_CONNECTIONS
from cryptopredict.utc import iso_utc
from tests.api.edge_probes import address, answer_to, refused, wrong_answers
from tests.live_server import LiveServer, start_server
from tests.paths import ROOT

pytestmark = pytest.mark.slow

OTHER_CLIENT = "127.0.0.2"  # loopback, but another address than the attackers'
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: slow.example\r\n"  # no blank line: never finished


@pytest.fixture
def edge(artifact_dir, tmp_path) -> Iterator[LiveServer]:
    server = start_server(artifact_dir, tmp_path / "api.log", proxied=True, ACCESS_LOG="true")
    yield server
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=15)


@pytest.fixture
def open_files():
    """Room for a thousand connections in this process (within the system's hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def healthz(url: str, *, timeout: float, path: str = "/healthz") -> bool:
    """Whether `path` answered 200 within `timeout` s, asked from OTHER_CLIENT."""
    connection = http.client.HTTPConnection(
        *address(url), timeout=timeout, source_address=(OTHER_CLIENT, 0)
    )
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def test_header_heavy_and_bodied_requests_are_refused_by_the_proxy(edge):
    lines = lambda n: b"".join(b"X-H-%d: v\r\n" % i for i in range(n))  # noqa: E731
    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    assert answer_to(edge.url, get + lines(97) + b"\r\n").startswith(b"HTTP/1.1 200 ")
    assert refused(answer_to(edge.url, get + lines(6000) + b"\r\n")) == (400, "html")
    big = get + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    assert refused(answer_to(edge.url, big)) == (400, "html")
    too_long = b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n"
    assert refused(answer_to(edge.url, too_long)) == (413, "body_refused")
    assert "Server" not in http_get(edge.url, "/healthz").headers
    assert edge.log.read_text().count('path="/healthz"') == 2  # the refused never reached it


def test_dripping_bodies_are_refused_as_their_heads_arrive(artifact_dir, tmp_path, open_files):
    """Issue 95: 200 connections from one address (no cap, as render.yaml sets), each announcing a
    small body, by its length or chunked, and dripping it: each is answered 413 `body_refused` as
    soon as its head is read, and a client from another address is answered within a second."""
    server = start_server(
        artifact_dir, tmp_path / "api.log", proxied=True, MAX_CONNECTIONS_PER_CLIENT="0"
    )
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    length, chunked = b"Content-Length: 1000\r\n\r\na", b"Transfer-Encoding: chunked\r\n\r\n1"
    clients = [socket.create_connection(address(server.url), timeout=10) for _ in range(200)]
    try:
        for number, client in enumerate(clients):
            client.sendall(head + (length if number % 2 else chunked))
        sent = time.monotonic()
        assert all(healthz(server.url, timeout=1.0) for _ in range(5))
        assert {refused(client.recv(65536)) for client in clients} == {(413, "body_refused")}
        assert time.monotonic() - sent < 5
    finally:
        for client in clients:
            client.close()
        server.process.terminate()
        server.process.wait(timeout=15)


def test_odd_requests_get_json_and_no_traceback(edge):
    assert wrong_answers(edge.url) == {}
    assert "Traceback" not in edge.log.read_text()


@pytest.mark.parametrize(
    ("cap", "client", "met"),
    [("100", OTHER_CLIENT, OTHER_CLIENT), ("0", "7.7.7.7", "5.5.5.5")],
    ids=["direct", "behind a proxy"],
)
def test_the_logs_name_the_client_trusting_forwarded_for_only_behind_a_proxy(
    artifact_dir, tmp_path, cap, client, met
):
    """Issue 95: the access log and HAProxy's (a request it refused) name the client: the
    connection's address, or behind another proxy (MAX_CONNECTIONS_PER_CLIENT=0, as on Render)
    the address Cloudflare met (CF-Connecting-IP, issue 104), else the last X-Forwarded-For
    that proxy appended; nothing else a client sends."""
    server = start_server(
        artifact_dir,
        tmp_path / "api.log",
        proxied=True,
        ACCESS_LOG="true",
        MAX_CONNECTIONS_PER_CLIENT=cap,
    )
    try:
        # The second refused by HAProxy; the third's last entry no address: the connection's.
        for method, forwarded in (
            (b"GET", b"7.7.7.7"),
            (b"get", b"7.7.7.7"),
            (b"HEAD", b"forged"),
            (b"OPTIONS", b"7.7.7.7\r\nCF-Connecting-IP: 5.5.5.5"),
        ):
            with socket.create_connection(
                address(server.url), timeout=10, source_address=(OTHER_CLIENT, 0)
            ) as asking:
                asking.sendall(
                    method + b" /healthz?token=s3cret HTTP/1.1\r\nHost: x\r\n"
                    b"X-Forwarded-For: 6.6.6.6, " + forwarded + b"\r\n\r\n"
                )
                assert asking.recv(65536)
    finally:
        server.process.terminate()
        server.process.wait(timeout=15)
    log = server.log.read_text()
    assert f'client={client} method="GET" path="/healthz" status=200' in log
    assert f'client={client} from={OTHER_CLIENT} get "/healthz" status=405 ' in log
    assert f'client={OTHER_CLIENT} method="HEAD" path="/healthz" status=200' in log
    assert f'client={met} method="OPTIONS" path="/healthz" status=200' in log
    assert [word for word in ("6.6.6.6", "forged", "s3cret") if word in log] == []


def http_get(url: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(*address(url), timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    return answer


def partial_requests(url: str, count: int) -> list[socket.socket]:
    """`count` connections that send half a request (those refused as they connect left out)."""
    clients = []
    for _ in range(count):
        try:
            client = socket.create_connection(address(url), timeout=10)
        except ConnectionResetError:  # closed by the server as it was accepted
            continue
        with contextlib.suppress(OSError):
            client.sendall(PARTIAL)
        clients.append(client)
    return clients


def closed_unanswered(client: socket.socket) -> bool:
    try:
        return client.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_slow_headers_are_capped_per_address_and_cut_at_five_seconds(edge, open_files):
    """A slowloris: 1,000 connections from one address send half a request and wait. Past 100
    they are closed as accepted; those held get 408 five seconds after their first byte."""
    clients = partial_requests(edge.url, 1000)
    try:
        sent = time.monotonic()
        assert all(healthz(edge.url, timeout=1.0) for _ in range(5))
        assert closed_unanswered(clients[-1])  # past the cap: closed, nothing answered
        assert refused(clients[0].recv(65536)) == (408, "html")
        assert time.monotonic() - sent < 8
    finally:
        for client in clients:
            client.close()


def test_readers_that_never_read_fill_the_rest_but_not_the_answers_at_one_instant(edge, facts):
    """Issue 104: 300 connections from 20 addresses (15 each: one may have 16 requests at once)
    pipeline requests for the largest answer (the vendored plotly.js) and never read: they hold
    all 200 connections to Waitress the other routes have, so another client's `/assets` waits
    and is answered 503 after 5 s; `/healthz` and `/bitcoin` have their own, and answer within
    a second."""
    flood = b"GET /vendor/plotly.min.js HTTP/1.1\r\nHost: x\r\n\r\n" * 10
    clients = [
        socket.create_connection(
            address(edge.url), timeout=10, source_address=(f"127.0.1.{n % 20}", 0)
        )
        for n in range(300)
    ]
    try:
        for client in clients:
            client.sendall(flood)
        time.sleep(2)  # their first answers on their way, then stuck
        asked = time.monotonic()
        assert refused(answer_to(edge.url, b"GET /assets HTTP/1.1\r\nHost: x\r\n\r\n")) == (
            503,
            "busy",
        )
        assert time.monotonic() - asked > 4.5
        bitcoin = f"/bitcoin?date={iso_utc(facts.data_end)}"
        probes = [healthz(edge.url, timeout=1.0, path=path) for path in ("/healthz", bitcoin) * 5]
        assert all(probes), probes
    finally:
        for client in clients:
            client.close()


def test_one_client_may_ask_300_ranges_or_candles_in_10_s(edge):
    """Issue 104: the 301st range or candles a client asks within 10 s is answered `429`; its
    other requests are not, nor another client's. Issue 113: the 429 says to come back in 10 s,
    and refused requests do not count: after 500 more refused, one asked then is answered."""
    candles = lambda: http_get(edge.url, "/candles/btc-usd")  # noqa: E731 (a refusal closes)
    assert [candles().status for _ in range(300)] == [200] * 300
    refusal = candles()
    assert refusal.status == 429
    assert http_get(edge.url, "/assets").status == 200
    assert healthz(edge.url, timeout=1.0, path="/candles/btc-usd")
    assert {candles().status for _ in range(500)} == {429}
    time.sleep(int(refusal.headers["Retry-After"]))
    assert candles().status == 200


def keep_asking(url: str, path: str, stop: threading.Event, answers: list[int]) -> str:
    """Ask for `path` over kept-alive connections until the server refuses to connect once
    `stop` is set; count the whole answers. Returns why it ended: `refused`, or the failure."""
    while True:
        connection = http.client.HTTPConnection(*address(url), timeout=10)
        try:
            while True:
                connection.request("GET", path)
                answer = connection.getresponse()
                body = answer.read()
                if answer.status != 200 or len(body) != int(answer.headers["Content-Length"]):
                    return f"status {answer.status}, {len(body)} bytes"
                answers.append(answer.status)
                if answer.headers.get("Connection") == "close":
                    break
        except ConnectionRefusedError:
            return "refused" if stop.is_set() else "refused before the stop"
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            pass  # closed while idle, before the request was read: it is sent again
        except Exception as error:  # a truncated answer, a timeout
            return repr(error)
        finally:
            connection.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_under_load_answers_every_request_received(edge, facts, signum):
    """Sixteen clients asking as fast as they can, a slow reader mid-answer; the signal. Every
    request the application received (a line of its access log) reached its client whole, the
    slow answer too, and the process ended with status 0, its proxy with it."""
    path = f"/bitcoin?date={iso_utc(facts.data_end + 86_400)}"
    stop = threading.Event()
    answers: list[int] = []
    ended: list[str] = []
    clients = [
        threading.Thread(target=lambda: ended.append(keep_asking(edge.url, path, stop, answers)))
        for _ in range(16)
    ]
    slow = http.client.HTTPConnection(*address(edge.url), timeout=10)
    slow.request("GET", "/vendor/plotly.min.js")
    big = slow.getresponse()
    first = big.read(65_536)
    proxy = psutil.Process(edge.process.pid).children()
    for client in clients:
        client.start()
    deadline = time.monotonic() + 30
    while len(answers) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    before = len(answers)
    assert before >= 200, "the clients did not get going"
    stop.set()
    edge.process.send_signal(signum)
    stopped = time.monotonic()
    time.sleep(0.5)
    assert len(first) + len(big.read()) == int(big.headers["Content-Length"])
    assert edge.process.wait(timeout=15) == 0
    assert time.monotonic() - stopped < 8  # idle connections closed after 2 s, all in 5 s
    for client in clients:
        client.join(timeout=15)
    assert ended == ["refused"] * 16
    log = edge.log.read_text()
    assert log.count('path="/bitcoin" status=200') == len(answers) > before
    assert f"{signal.Signals(signum).name}: finishing the requests in flight" in log
    assert "Traceback" not in log
    assert log.rstrip().endswith("api: stopped")
    assert not any(each.is_running() for each in proxy)


def test_the_server_stops_when_its_proxy_does(edge):
    [proxy] = psutil.Process(edge.process.pid).children()
    assert proxy.name() == "haproxy"
    # Two Waitress servers, each with its threads: the answers at one instant's, the rest's.
    listening = psutil.Process(edge.process.pid).net_connections()
    assert len([each for each in listening if each.status == psutil.CONN_LISTEN]) == 2
    proxy.kill()
    assert edge.process.wait(timeout=15) == 1
    assert "the proxy stopped (status -9" in edge.log.read_text()


def test_the_proxy_ends_with_the_server_however_it_ends(edge):
    [proxy] = psutil.Process(edge.process.pid).children()
    edge.process.kill()
    proxy.wait(timeout=10)  # raises if it is still running


def take_all(server: socket.socket, taken: list[socket.socket]) -> None:
    with contextlib.suppress(OSError):  # until it is shut down
        while True:
            taken.append(server.accept()[0])


def reached(taken: list[socket.socket], count: int) -> None:
    """Wait until the server has taken `count` connections (at most 10 s)."""
    deadline = time.monotonic() + 10
    while len(taken) < count:
        assert time.monotonic() < deadline, f"{len(taken)} connections reached the server"
        time.sleep(0.01)


@pytest.fixture
def silent(open_files) -> Iterator[tuple[str, list[socket.socket], list[socket.socket]]]:
    """The configuration behind Render (MAX_CONNECTIONS_PER_CLIENT=0) in front of two servers,
    the rest's and the answers at one instant's, that take every connection and answer none (a
    Waitress whose threads are all busy); its URL, and the connections each server took."""
    listener = socket.create_server(("127.0.0.1", 0))
    busy = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    taken: list[list[socket.socket]] = [[], []]
    for server, took in zip(busy, taken, strict=True):
        threading.Thread(target=take_all, args=(server, took)).start()
    env = {
        "LISTENER": str(listener.fileno()),
        "API_PORT": str(busy[0].getsockname()[1]),
        "POINTS_PORT": str(busy[1].getsockname()[1]),
        "POINT_CONNECTIONS": str(POINT_CONNECTIONS),
        "SERVER_CONNECTIONS": str(SERVER_CONNECTIONS),
        "MAX_CONNECTIONS_PER_CLIENT": "0",
    }
    proxy = subprocess.Popen(
        ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)],
        env={**os.environ, **env},
        pass_fds=[listener.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", *taken
    proxy.kill()
    proxy.wait()
    for each in (*taken[0], *taken[1], listener):
        each.close()
    for server in busy:
        server.shutdown(socket.SHUT_RDWR)
        server.close()


def ask(url: str, path: str, source: str = "127.0.0.1", headers: str = "") -> socket.socket:
    """A connection from `source` that has sent `GET path` with `headers` (each ending CRLF)."""
    client = socket.create_connection(address(url), timeout=10, source_address=(source, 0))
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    return client


@pytest.mark.parametrize(
    ("held", "limit", "asked", "still_reaches"),
    [
        ("/bitcoin/forecast", SERVER_CONNECTIONS, "/candles/btc-usd", "/healthz"),
        ("/bitcoin", POINT_CONNECTIONS, "/healthz", "/candles/btc-usd"),
    ],
    ids=["every-other-answer", "answers-at-one-instant"],
)
def test_requests_past_the_servers_threads_wait_five_seconds_then_503(
    silent, held, limit, asked, still_reaches
):
    """`limit` requests like `held` reach their server (from 20 addresses: one may have 16 at
    once), the next like them waits in HAProxy's queue and is answered `503 busy` with
    `Retry-After: 1` after 5 s; a request of the other server still reaches it meanwhile (the
    answers at one instant have their own Waitress threads, and few connections:
    docs/performance.md)."""
    url, rest, points = silent
    taken, other = (rest, points) if limit == SERVER_CONNECTIONS else (points, rest)
    clients = [ask(url, held, f"127.0.1.{n % 20}") for n in range(limit)]
    reached(taken, limit)
    clients.append(ask(url, still_reaches))
    reached(other, 1)
    asked_at = time.monotonic()
    answer = answer_to(url, f"GET {asked} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    waited = time.monotonic() - asked_at
    assert refused(answer) == (503, "busy")
    assert b"\r\nretry-after: 1\r\n" in answer.lower()
    assert 4.5 < waited < 8
    assert (len(taken), len(other)) == (limit, 1)
    for client in clients:
        client.close()


def test_a_gone_client_holds_no_connection_and_an_answer_at_one_instant_waits_10_s(silent):
    """Issue 113: 16 requests sent on connections closed at once (as fire-and-forget `Expect:
    100-continue` requests were) leave Waitress's connections free for the next, which is
    answered `504` after 10 s, not 30, if its answer does not come."""
    url, _, points = silent
    for n in range(POINT_CONNECTIONS):
        ask(url, "/bitcoin", f"127.0.1.{n}").close()
    time.sleep(1)  # those that reached the server are closed there
    before, asked = len(points), time.monotonic()
    with ask(url, "/bitcoin", OTHER_CLIENT) as waiting:
        reached(points, before + 1)
        waiting.settimeout(20)
        assert refused(waiting.recv(65536)) == (504, "timeout")
    assert 9 < time.monotonic() - asked < 14


def test_one_client_may_have_16_requests_at_once_but_answers_at_one_instant(silent):
    """Issue 104: behind Render, a client (the address Cloudflare met, CF-Connecting-IP) may
    have 16 requests in flight but the answers at one instant: its 17th is answered `429` at
    once, while another client's and its own `/healthz` still reach their servers."""
    url, rest, points = silent
    met = lambda client: f"CF-Connecting-IP: {client}\r\n"  # noqa: E731
    clients = [ask(url, "/assets", OTHER_CLIENT, met("7.7.7.7")) for _ in range(16)]
    reached(rest, 16)
    refusal = ask(url, "/assets", OTHER_CLIENT, met("7.7.7.7")).recv(65536)
    assert refused(refusal) == (429, "too_many_requests")
    assert b"\r\nretry-after: 1\r\n" in refusal.lower()
    clients += [ask(url, "/assets", OTHER_CLIENT, met("8.8.8.8"))]
    clients += [ask(url, "/healthz", OTHER_CLIENT, met("7.7.7.7"))]
    reached(rest, 17)
    reached(points, 1)
    for client in clients:
        client.close()


def test_without_the_proxy_slow_headers_lock_everyone_out(artifact_dir, tmp_path, open_files):
    """The control: Waitress alone (`python api.py --alone`) holds 100 connections, and the same
    slowloris stops it answering anyone until they time out (two minutes)."""
    server = start_server(artifact_dir, tmp_path / "api.log")
    clients = partial_requests(server.url, 1000)
    try:
        assert not healthz(server.url, timeout=1.0)
    finally:
        for client in clients:
            client.close()
        server.process.terminate()
        server.process.wait(timeout=10)


def test_the_docs_and_the_refusals_say_the_figures_the_configuration_sets():
    """docs/api.md's errors, docs/operations.md's bounds and HAProxy's own refusals state the
    figures of haproxy.cfg (issue 84 bar 3: docs that cannot drift from the code); the
    configuration itself is included in docs/operations.md."""
    config = HAPROXY_CONFIG.read_text()
    figure = lambda setting: int(re.search(rf"^ +{setting} (\d+)", config, re.M)[1])  # noqa: E731
    lines = figure("tune.http.maxhdr")
    head = (figure("tune.bufsize") - figure("tune.maxrewrite")) // 1024
    drip, queue = figure("timeout http-request"), figure("timeout queue")
    stated = {
        "cryptopredict/api/haproxy.cfg": [
            "a request with a body: every route is GET or HEAD",
            f"no server could take the request within {queue} s",
        ],
        "docs/api.md": [
            f"headers longer than {head} KiB or more than {lines} lines (the request line counted)",
            f"did not all arrive within {drip} s of its first byte",
            "a request announcing a body (a `Content-Length` above 0, or any `Transfer-Encoding`)",
            f"no connection to the server came free within {queue} s",
        ],
        "docs/operations.md": [
            '--8<-- "cryptopredict/api/haproxy.cfg"',
            f"`timeout http-request` ({drip} s from the first byte)",
            f"at most {SERVER_CONNECTIONS} connections to Waitress (`SERVER_CONNECTIONS`",
            f"`tune.http.maxhdr {lines}` ({lines} lines with the request line), the {head} KiB",
            "a `Content-Length` above 0, or any `Transfer-Encoding`",
            f"`maxconn {figure('maxconn')}`; at most {POINT_CONNECTIONS} connections to "
            "Waitress at once for the answers at one instant",
            f"and {SERVER_CONNECTIONS} for the rest, the rest queued for up to {queue} s",
            f"`hard-stop-after {figure('hard-stop-after')}s`",
            f"within {figure('hard-stop-after')} s\n(`hard-stop-after`; idle connections are "
            f"closed after {figure('timeout http-keep-alive')} s)",
        ],
    }
    for page, phrases in stated.items():
        text = (ROOT / page).read_text()
        assert [phrase for phrase in phrases if phrase not in text] == [], page
    for detail in re.findall(r"string '(.*)'$", config, re.M):
        assert set(json.loads(detail)) == {"error", "detail"}
