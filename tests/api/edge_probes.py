"""Requests the API's edge refuses, and how (issue 95): `tests/api/test_edge.py` sends them to
`python api.py` behind the host's HAProxy, and `make image-test` (`ci/image-test.sh`) to the
image's command behind the HAProxy the image ships: `python -m tests.api.edge_probes URL VERSION`
exits 1 naming each answer that differs."""

from __future__ import annotations

import contextlib
import json
import socket
import sys


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def answer_to(url: str, request: bytes) -> bytes:
    """The first bytes answered to `request` sent raw on a new connection (b"": closed)."""
    with socket.create_connection(address(url), timeout=10) as client:
        with contextlib.suppress(OSError):  # answered and closed before it was all sent
            client.sendall(request)
        try:
            return client.recv(65536)
        except ConnectionResetError:
            return b""


def refused(answer: bytes) -> tuple[int, str]:
    """The status of a refusal and its `error` (JSON, as the API's are), or `html` for HAProxy's
    own page (those of a request it could not read); of any other answer, its status alone."""
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"\r\ncontent-type: text/html" in head.lower():
        return int(head.split()[1]), "html"
    if int(head.split()[1]) < 400:
        return int(head.split()[1]), ""
    detail = json.JSONDecoder().raw_decode(body.decode())[0]  # the first answer's
    assert set(detail) == {"error", "detail"}, detail
    return int(head.split()[1]), detail["error"]


# Requests that once met a traceback (`//[`: urlsplit read a malformed host), Waitress's
# plain-text answers (a lower-case method), a 200 (HTTP/1.1 without Host) or Waitress holding a
# connection while a body dripped, or after answering `100 Continue` to a request with none
# (issue 113); each is answered in JSON, with the status the API or HAProxy gives it, but for
# the two HAProxy cannot read (its own HTML page before 3.2).
PROBES = [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n", 200, ""),
    (b"GET //[%2f HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"),
    (b"GET http://x/[%2f HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"),
    (b"GET /forecast/btc%2fusd%ff?date=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 404, "unknown_asset"),
    (b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
    (b"GET /healthz HTTP/1.1\r\nX: y\r\n\r\n", 400, "bad_request"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: \x01\r\n\r\n", 400, "bad_request"),  # Waitress's
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad_request"),  # no HTTP/2: its bodies pass
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "html"),  # unread: HAProxy's page
    (b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400, "html"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na", 413, "body_refused"),
    (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1",
        413,
        "body_refused",
    ),
]


def _head(first: str, headers: list[str]) -> bytes:
    return ("\r\n".join([f"{first} HTTP/1.1", "Host: x", *headers]) + "\r\n\r\n").encode()


def _named(count: int) -> list[str]:  # a preflight's
    asked = ",".join(f"x-{n}" for n in range(count))
    return [
        "Origin: http://o.example",
        "Access-Control-Request-Method: GET",
        f"Access-Control-Request-Headers: {asked}",
    ]


# What a request may cost (issue 118): at the edge's limits it is answered, past them refused as
# HAProxy reads its head (a path and a query of 1,024 bytes, 32 query parameters, 100 header lines,
# 32 headers named in a preflight); and a path that does not decode, which no route answers.
PROBES += [
    (_head("GET /healthz?" + "&".join(f"p{n}" for n in range(32)), []), 200, ""),
    (_head("GET /healthz?n=33&" + "&".join(f"p{n}" for n in range(32)), []), 414, "uri_too_long"),
    (_head("GET /healthz?long=" + "a" * 1020, []), 414, "uri_too_long"),
    (_head("GET /" + "a" * 1024, []), 414, "uri_too_long"),
    (_head("GET /healthz?lines=100", [f"X-{n}: v" for n in range(99)]), 200, ""),
    (_head("GET /healthz?lines=101", [f"X-{n}: v" for n in range(100)]), 431, "too_many_headers"),
    (_head("OPTIONS /bitcoin?named=32", _named(32)), 200, "html"),
    (_head("OPTIONS /bitcoin?named=33", _named(33)), 400, "bad_request"),
    (_head("GET /forecast/btc%zz-usd", []), 400, "bad_request"),
]


def spellings(path: str) -> list[str]:
    """`path` however a client may write it that the application reads as it (issue 118): a slash
    doubled, an absolute URI, every letter escaped, a pair's name with an escaped slash, in
    capitals, padded with blanks."""
    escaped = "".join(each if each in "/." else f"%{ord(each):02X}" for each in path)
    names = ("BTC%2fUSD", "%20btc%2Fusd%09") if "btc-usd" in path else ()
    return [
        path,
        "/" + path,
        "http://x" + path,
        escaped,
        *(path.replace("btc-usd", n) for n in names),
    ]


# Past 300 ranges or candles in 10 s, one client (issue 113: as render.yaml sets the edge, the
# address True-Client-IP names, an IPv6 one by its /64) is refused however it dresses and however
# it spells any such route, each spelling the application answers another client.
BOUNDED = ("/bitcoin/forecast", "/forecast/btc-usd/range", "/candles/btc-usd")
SPELLINGS = [
    spelled for path in BOUNDED for each in (path, path + ".csv") for spelled in spellings(each)
]


def dressed(path: str, n: int, client: str = "2001:db8:1:2::") -> bytes:
    """A request of `path` from the /64 `client`, dressed as another client the `n`-th time."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nTrue-Client-IP: {client}{n + 1:x}\r\n"
        f"CF-Connecting-IP: 198.51.100.{n % 250}\r\nX-Forwarded-For: 203.0.113.{n % 250}\r\n\r\n"
    ).encode()


def bound_breaches(url: str) -> list[str]:
    """Each spelling not answered 200 to one client, then each of 300 candles not answered 200 to
    another, and each spelling not refused to it with 429 and `Retry-After: 10`."""
    breaches = [
        f"{path} unanswered"
        for path in SPELLINGS
        if refused(answer_to(url, dressed(path, 0, "2001:db8:9::")))[0] != 200
    ]
    candles = [refused(answer_to(url, dressed("/candles/btc-usd", n)))[0] for n in range(300)]
    breaches += [f"candles {n}: {status}" for n, status in enumerate(candles) if status != 200]
    for n, path in enumerate(SPELLINGS, 300):
        answer = answer_to(url, dressed(path, n))
        if refused(answer) != (429, "too_many_requests") or b"retry-after: 10\r" not in answer:
            breaches.append(f"{path} let through: {answer[:12]!r}")
    return breaches


def wrong_answers(url: str) -> dict[bytes, tuple[int, str]]:
    """Each probe answered otherwise than `PROBES` says, with its answer."""
    answers = {request[:80]: refused(answer_to(url, request)) for request, *_ in PROBES}
    wanted = {request[:80]: (status, error) for request, status, error in PROBES}
    return {request: got for request, got in answers.items() if got != wanted[request]}


if __name__ == "__main__":
    url, version = sys.argv[1:3]
    wrong = wrong_answers(url)
    for request, got in wrong.items():
        print(f"edge probes: {request!r} answered {got}", file=sys.stderr)
    right = len(PROBES) - len(wrong)
    print(f"edge probes: {right} of {len(PROBES)} answered as on the host, by {version}")
    breaches = bound_breaches(url)
    print(f"edge probes: one client's bound: {', '.join(breaches) or 'held'}", file=sys.stderr)
    sys.exit(1 if wrong or breaches else 0)
