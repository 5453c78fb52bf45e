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

from cryptopredict.api.server import (
    HAPROXY_CONFIG,
    LARGE_CONNECTIONS,
    POINT_CONNECTIONS,
    PORTS,
    SERVER_CONNECTIONS,
    proxy_environment,
)
from cryptopredict.config import ApiSettings
from cryptopredict.utc import iso_utc
from tests.api.edge_probes import (
    address,
    answer_to,
    bound_breaches,
    dressed,
    refused,
    wrong_answers,
)
from tests.live_server import LiveServer, start_server
from tests.paths import ROOT

pytestmark = pytest.mark.slow

OTHER_CLIENT = "127.0.0.2"  # loopback, but another address than the attackers'
RENDER = {"MAX_CONNECTIONS_PER_CLIENT": "0", "CLIENT_IP_HEADER": "True-Client-IP"}  # render.yaml's
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: slow.example\r\n"  # no blank line: never finished
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def edge(request, artifact_dir, tmp_path) -> Iterator[LiveServer]:
    """`python api.py` with its defaults, or the settings a test asks."""
    settings = getattr(request, "param", {})
    with start_server(
        artifact_dir, tmp_path / "api.log", proxied=True, ACCESS_LOG="true", **settings
    ) as server:
        yield server


@pytest.fixture
def open_files():
    """Room for thousands of connections in this process (within the system's hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 10_000 if hard == resource.RLIM_INFINITY else min(10_000, hard)
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
    assert b"\r\nserver:" not in answer_to(edge.url, get + b"\r\n").lower()
    assert edge.log.read_text().count('"GET" path="/healthz"') == 2  # the refused never reached it


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
    ("header", "client", "met"),
    [
        ("", OTHER_CLIENT, OTHER_CLIENT),
        ("X-Forwarded-For", "7.7.7.7", "7.7.7.7"),
        ("True-Client-IP", OTHER_CLIENT, "5.5.5.5"),
    ],
    ids=["direct", "behind a load balancer", "behind Render"],
)
def test_the_logs_name_the_client_by_the_one_header_its_proxy_sets(
    artifact_dir, tmp_path, header, client, met
):
    """Issue 95: the access log and HAProxy's (a request it refused) name the client: the
    connection's address, or behind another proxy the last value of the header it sets
    (CLIENT_IP_HEADER, issue 113: render.yaml's True-Client-IP, or X-Forwarded-For's last
    entry); nothing else a client sends."""
    with start_server(
        artifact_dir,
        tmp_path / "api.log",
        proxied=True,
        ACCESS_LOG="true",
        MAX_CONNECTIONS_PER_CLIENT="0" if header else "100",
        CLIENT_IP_HEADER=header,
    ) as server:
        # The second refused by HAProxy; the third's last entry no address: the connection's.
        for method, forwarded in (
            (b"GET", b"7.7.7.7"),
            (b"get", b"7.7.7.7"),
            (b"HEAD", b"forged"),
            (b"OPTIONS", b"7.7.7.7\r\nTrue-Client-IP: 5.5.5.5\r\nCF-Connecting-IP: 4.4.4.4"),
        ):
            with socket.create_connection(
                address(server.url), timeout=10, source_address=(OTHER_CLIENT, 0)
            ) as asking:
                asking.sendall(
                    method + b" /healthz?token=s3cret HTTP/1.1\r\nHost: x\r\n"
                    b"X-Forwarded-For: 6.6.6.6, " + forwarded + b"\r\n\r\n"
                )
                assert asking.recv(65536)
    log = server.log.read_text()
    assert f'client={client} method="GET" path="/healthz" status=200' in log
    assert f'client={client} from={OTHER_CLIENT} get "/healthz" status=405 ' in log
    assert f'client={OTHER_CLIENT} method="HEAD" path="/healthz" status=200' in log
    assert f'client={met} method="OPTIONS" path="/healthz" status=200' in log
    assert [word for word in ("6.6.6.6", "4.4.4.4", "forged", "s3cret") if word in log] == []


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


def test_readers_that_never_read_hold_only_the_large_answers_connections(edge, facts):
    """Issues 104 and 113: 320 connections from 20 addresses (16 each, as many as one may have at
    once) pipeline requests for the largest answer (the vendored plotly.js) and never read: they
    hold every connection to Waitress the large answers have; another client's `/assets` and
    `/bitcoin` have their own, and answer within a second. Issue 118: `/healthz` says so in its
    body and `/metrics` in a gauge, its status still 200 (a restart would not help)."""
    flood = b"GET /vendor/plotly.min.js HTTP/1.1\r\nHost: x\r\n\r\n" * 10
    clients = [
        socket.create_connection(
            address(edge.url), timeout=10, source_address=(f"127.0.1.{n % 20}", 0)
        )
        for n in range(320)
    ]
    try:
        for client in clients:
            client.sendall(flood)
        time.sleep(2)  # their first answers on their way, then stuck
        health = http.client.HTTPConnection(*address(edge.url), timeout=10)
        health.request("GET", "/healthz")
        assert "connection for large answers" in json.load(health.getresponse())["reasons"][-1]
        health.request("GET", "/metrics")
        assert "cryptopredict_large_connections_free 0.0" in health.getresponse().read().decode()
        bitcoin = f"/bitcoin?date={iso_utc(facts.data_end)}"
        probes = [healthz(edge.url, timeout=1.0, path=path) for path in ("/assets", bitcoin) * 5]
        assert all(probes), probes
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize("edge", [RENDER], indirect=True)
def test_one_client_may_ask_300_ranges_or_candles_in_10_s(edge):
    """Issue 104: the 301st range or candles a client asks within 10 s is answered `429`; its
    other requests are not, nor another client's. Issue 113: however it dresses and spells the
    route (`bound_breaches`, which make image-test asks of the image's HAProxy); the 429 says to
    come back in 10 s, and refused requests do not count: after 500 more refused, one asked then
    is answered."""
    assert bound_breaches(edge.url) == []
    candles = lambda: refused(answer_to(edge.url, dressed("/candles/btc-usd", 0)))[0]  # noqa: E731
    assert refused(answer_to(edge.url, dressed("/assets", 0)))[0] == 200
    assert healthz(edge.url, timeout=1.0, path="/candles/btc-usd")
    assert {candles() for _ in range(500)} == {429}
    time.sleep(10)
    assert candles() == 200


def test_the_health_check_waits_behind_no_request_and_fails_only_if_a_restart_would_help(edge):
    """Issue 118: while the server's process is stopped, the four connections for `/healthz` fill,
    and HAProxy answers the next itself at once from its checks of the server, 200 `busy`; once
    three checks in a row went unanswered, 503 `unresponsive`; once the server answers, 200."""
    edge.process.send_signal(signal.SIGSTOP)
    try:
        held = [ask(edge.url, "/healthz", f"127.0.1.{n}") for n in range(4)]
        time.sleep(0.5)
        assert b'"status": "busy"' in answer_to(edge.url, HEALTHZ)
        deadline = time.monotonic() + 30  # meanwhile busy, or 504 after 5 s once those are
        while refused(answer_to(edge.url, HEALTHZ)) != (503, "unresponsive"):
            assert time.monotonic() < deadline, "the proxy never found the server unresponsive"
            time.sleep(0.5)
    finally:
        edge.process.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 15
    while not healthz(edge.url, timeout=1.0):
        assert time.monotonic() < deadline, "the proxy never found the server answering again"
        time.sleep(0.5)
    for client in held:
        client.close()


@pytest.mark.parametrize("edge", [RENDER], indirect=True)
def test_idle_connections_leave_room_for_others(edge, facts, open_files):
    """Issue 118: 4,500 connections that send nothing, from one address behind Render (no cap per
    address; HAProxy took 4,000 at once before): `/healthz` and `/bitcoin` from another address
    answered within a second."""
    idle = [socket.create_connection(address(edge.url)) for _ in range(4500)]
    bitcoin = f"/bitcoin?date={iso_utc(facts.data_end)}"
    try:
        assert all(healthz(edge.url, timeout=1.0, path=path) for path in ("/healthz", bitcoin) * 3)
    finally:
        for client in idle:
            client.close()


def test_refused_floods_are_counted_and_sampled_in_the_log(edge):
    """Issue 118: 1,000 refused requests (a query past the edge's limit) as fast as one client sends
    them: a few of their lines are written, and the `unlogged` of the lines written counts every
    other, the last told by the next refusal's line."""
    padded = b"GET /bitcoin?" + b"&p" * 40 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert {refused(answer_to(edge.url, padded))[0] for _ in range(1000)} == {414}
    time.sleep(2)
    assert refused(answer_to(edge.url, padded))[0] == 414
    deadline, pattern = time.monotonic() + 10, r"api\.proxy: .* status=(\d+) .* unlogged=(\d+)"
    while time.monotonic() < deadline:  # until the last refusal's line is written
        said = re.findall(pattern, edge.log.read_text())
        told = sum(int(unlogged) for _, unlogged in said) + len(said)
        if told >= 1001:
            break
        time.sleep(0.2)
    assert [status for status, _ in said] == ["414"] * len(said)
    assert len(said) < 100
    assert told == 1001


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
    slow = http.client.HTTPConnection(  # another client: one may have 16 requests at once
        *address(edge.url), timeout=10, source_address=(OTHER_CLIENT, 0)
    )
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
    # Four Waitress servers, each with its threads: the health check's, the answers at one
    # instant's, the large answers', the rest's.
    listening = psutil.Process(edge.process.pid).net_connections()
    assert len([each for each in listening if each.status == psutil.CONN_LISTEN]) == 4
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
def silent(request, open_files) -> Iterator[tuple[str, ...]]:
    """The configuration behind Render (render.yaml's settings, or CLIENT_IP_HEADER as the test
    asks) in front of four servers (server.PORTS': the rest's, the answers at one instant's, the
    health check's, the large answers') that take every connection and answer none (a Waitress
    whose threads are all busy); its URL, and the connections each server took."""
    listener = socket.create_server(("127.0.0.1", 0))
    busy = [socket.create_server(("127.0.0.1", 0)) for _ in PORTS]
    taken: list[list[socket.socket]] = [[] for _ in PORTS]
    for server, took in zip(busy, taken, strict=True):
        threading.Thread(target=take_all, args=(server, took)).start()
    header = getattr(request, "param", "True-Client-IP")
    settings = ApiSettings.from_env({"MAX_CONNECTIONS_PER_CLIENT": "0", "CLIENT_IP_HEADER": header})
    ports = [server.getsockname()[1] for server in busy]
    proxy = subprocess.Popen(
        ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)],
        env={**os.environ, **proxy_environment(listener.fileno(), ports, settings)},
        pass_fds=[listener.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", *taken
    proxy.kill()
    proxy.wait()
    for each in [*(each for took in taken for each in took), listener]:
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
    ("held", "limit", "still_reaches", "servers"),
    [
        ("/bitcoin/forecast", LARGE_CONNECTIONS, "/assets", (3, 0)),
        ("/assets", SERVER_CONNECTIONS, "/vendor/plotly.min.js", (0, 3)),
        ("/bitcoin", POINT_CONNECTIONS, "/healthz", (1, 2)),
    ],
    ids=["large-answers", "every-other-answer", "answers-at-one-instant"],
)
def test_requests_past_the_servers_threads_wait_five_seconds_then_503(
    silent, held, limit, still_reaches, servers
):
    """`limit` requests like `held` reach their server (from 20 addresses: one may have 16 at
    once), the next waits in HAProxy's queue and is answered `503 busy` with `Retry-After: 1`
    after 5 s; a request of other connections still reaches its server meanwhile: the health
    check and the answers at one instant have Waitress threads of their own, and no other route
    takes their connections (issue 113; docs/performance.md)."""
    url, *taken = silent
    server, other = servers
    clients = [ask(url, held, f"127.0.1.{n % 20}") for n in range(limit)]
    reached(taken[server], limit)
    clients.append(ask(url, still_reaches))
    reached(taken[other], 1 + limit * (other == server))
    asked_at = time.monotonic()
    answer = answer_to(url, f"GET {held} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    waited = time.monotonic() - asked_at
    assert refused(answer) == (503, "busy")
    assert b"\r\nretry-after: 1\r\n" in answer.lower()
    assert 4.5 < waited < 8
    for client in clients:
        client.close()


def test_a_gone_client_holds_no_connection_and_an_answer_at_one_instant_waits_10_s(silent):
    """Issue 113: 16 requests sent on connections closed at once (as fire-and-forget `Expect:
    100-continue` requests were) leave Waitress's connections free for the next, which is
    answered `504` after 10 s, not 30, if its answer does not come."""
    url, _, points, *_ = silent
    for n in range(POINT_CONNECTIONS):
        ask(url, "/bitcoin", f"127.0.1.{n}").close()
    time.sleep(1)  # those that reached the server are closed there
    before, asked = len(points), time.monotonic()
    with ask(url, "/bitcoin", OTHER_CLIENT) as waiting:
        reached(points, before + 1)
        waiting.settimeout(20)
        assert refused(waiting.recv(65536)) == (504, "timeout")
    assert 9 < time.monotonic() - asked < 14


def test_one_client_may_have_16_requests_at_once_and_the_health_check_has_its_own(silent):
    """Issues 104 and 113: behind Render, a client (the address Cloudflare met, True-Client-IP)
    may have 16 requests in flight, the answers at one instant's included: its 17th is answered
    `429` at once, while another client's requests still reach their servers, and so does its
    own `/healthz` (issue 118: the health check is bound by no client's count)."""
    url, rest, points, health, _ = silent
    met = lambda client: f"True-Client-IP: {client}\r\n"  # noqa: E731
    clients = [ask(url, "/bitcoin", OTHER_CLIENT, met("7.7.7.7")) for _ in range(16)]
    reached(points, 16)
    refusal = ask(url, "/assets", OTHER_CLIENT, met("7.7.7.7")).recv(65536)
    assert refused(refusal) == (429, "too_many_requests")
    assert b"\r\nretry-after: 1\r\n" in refusal.lower()
    clients += [ask(url, "/assets", OTHER_CLIENT, met("8.8.8.8"))]
    clients += [ask(url, "/healthz", OTHER_CLIENT, met("7.7.7.7"))]
    reached(rest, 1)
    reached(health, 1)
    for client in clients:
        client.close()


ROTATED = {  # what a client sends, the n-th time, through the hop in front (a private address)
    "True-Client-IP": "CF-Connecting-IP: 9.9.9.{n}\r\nX-Forwarded-For: 8.8.8.{n}\r\n"
    "True-Client-IP: 2001:db8:1:2::{n}\r\n",  # Render's (Cloudflare's), in one /64
    "X-Forwarded-For": "CF-Connecting-IP: 9.9.9.{n}\r\n"  # a load balancer's, appended:
    "X-Forwarded-For: 8.8.8.{n}, 2001:db8:1:2::{n}\r\n",  # as nginx does
}


@pytest.mark.parametrize(("silent", "sent"), ROTATED.items(), ids=ROTATED, indirect=["silent"])
def test_a_client_is_one_however_it_dresses(silent, sent):
    """Issue 113: a client that sends another CF-Connecting-IP or X-Forwarded-For each time, and
    comes from another address of its /64 (as the header its proxy sets names it), is one
    client: its 17th request at once is answered 429."""
    url, _, points, *_ = silent
    clients = [ask(url, "/bitcoin", headers=sent.format(n=n)) for n in range(16)]
    reached(points, 16)
    refusal = ask(url, "/bitcoin", headers=sent.format(n=16)).recv(65536)
    assert refused(refusal) == (429, "too_many_requests")
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
    limit = lambda pattern: int(re.search(pattern, config)[1])  # noqa: E731
    headers, uri, params = (
        limit(r"fhdr_cnt gt (\d+)"),
        limit(r"path -m len gt (\d+)"),
        limit(r"{(\d+)}"),
    )
    named, sampled = limit(r"request-headers\) gt (\d+)"), limit(r"gpc0_rate\(refused\) gt (\d+)")
    checks = limit(r"check inter (\d+)s")
    cost = [f"more than {headers} header lines", f"more than {params} query parameters"]
    stated = {
        "cryptopredict/api/haproxy.cfg": [
            *cost,
            "a request with a body: every route is GET or HEAD",
            f"no server could take the request within {queue} s",
            f"longer than {uri} bytes",
            f"a preflight naming more than {named} headers",
        ],
        "docs/api.md": [
            *cost,
            f"longer than {uri:,} bytes",
            f"a CORS preflight naming more than {named} headers",
            f"headers longer than {head} KiB or more than {lines} lines (the request line counted)",
            f"did not all arrive within {drip} s of its first byte",
            "a request announcing a body (a `Content-Length` above 0, or any `Transfer-Encoding`)",
            f"no connection to the server came free within {queue} s",
        ],
        "docs/operations.md": [
            '--8<-- "cryptopredict/api/haproxy.cfg"',
            f"a path and a query of at most {uri:,} bytes, at most {params} query parameters",
            f"at most {headers} header lines (`431`), at most {named} headers named in a preflight",
            f"`HEAD /healthz` every {checks} s",
            f"past {sampled} refused in a second",
            f"`timeout http-request` ({drip} s from the first byte)",
            f"of their own, {LARGE_CONNECTIONS} (`LARGE_CONNECTIONS` in `server.py`)",
            f"`tune.http.maxhdr {lines}` ({lines} lines with the request line), the {head} KiB",
            "a `Content-Length` above 0, or any `Transfer-Encoding`",
            f"`maxconn {figure('maxconn')}`; at most {POINT_CONNECTIONS} connections to "
            "Waitress at once for the answers at one instant",
            f"and {SERVER_CONNECTIONS} for the rest (`SERVER_CONNECTIONS`), the rest queued for up "
            f"to {queue} s",
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
