"""alpaca-py's REST client has no public way to take a timeout or to leave 429s to its caller
(`CryptoHistoricalDataClient` accepts neither, and its `retry_attempts` ignores 0), so
`cryptopredict/data/alpaca.py` sets two private attributes of it, `_session` and `_retry`. They
are used in that module only, and checked here against the pinned alpaca-py: an upgrade that
moves them fails these tests, not a fetch."""

from __future__ import annotations

import ast
import importlib.metadata
import re

import pytest
import requests
import responses
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest
from alpaca.data.timeframe import TimeFrame

from cryptopredict.data.alpaca import AlpacaSource
from cryptopredict.data.errors import TransientSourceError
from tests.data.http_shapes import ALPACA_BARS_URL
from tests.paths import ROOT

PRIVATE = {"_session", "_retry"}
USER = "cryptopredict/data/alpaca.py"


def test_the_installed_alpaca_py_is_the_pinned_one():
    lock = (ROOT / "requirements-train.txt").read_text()
    pinned = re.search(r"^alpaca-py==([^\s\\]+)", lock, re.M)
    assert pinned is not None
    assert importlib.metadata.version("alpaca-py") == pinned.group(1)


def test_a_client_holds_the_attributes_the_source_replaces():
    client = CryptoHistoricalDataClient(raw_data=True)
    assert isinstance(client._session, requests.Session)
    assert isinstance(client._retry, int)
    assert client._retry > 0, "alpaca-py retries 429s itself"


@responses.activate
def test_the_replaced_session_and_retry_count_are_the_ones_a_request_goes_through(settings):
    responses.get(ALPACA_BARS_URL, status=429, json={"message": "too many requests"})
    client = AlpacaSource(settings)._client()
    request = CryptoBarsRequest(symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Hour)
    with pytest.raises(TransientSourceError, match="HTTP 429"):
        AlpacaSource(settings)._bars(client, request)
    # One request (alpaca-py's own retries are off: NetworkSource.call decides), with our timeout.
    assert len(responses.calls) == 1
    assert responses.calls[0].request.req_kwargs["timeout"] == (
        settings.http_connect_timeout,
        settings.http_read_timeout,
    )


def private_uses(tree: ast.AST) -> set[str]:
    """The private attributes of alpaca-py's client read or set on anything but `self`."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in PRIVATE
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    }


def test_only_one_module_touches_alpaca_py_s_privates():
    users = {
        path.relative_to(ROOT).as_posix()
        for folder in ("cryptopredict", "tools")
        for path in (ROOT / folder).rglob("*.py")
        if private_uses(ast.parse(path.read_text()))
    }
    assert users == {USER}


def test_the_scan_sees_a_use_and_ignores_an_object_s_own_attribute():
    assert private_uses(ast.parse("client._retry = 0")) == {"_retry"}
    assert private_uses(ast.parse("self._session(group)")) == set()
