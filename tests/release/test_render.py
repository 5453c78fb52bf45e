"""The Render deploy: the hook gets the pushed digest, and /healthz must report the new model."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tools.release.render import (
    DeployError,
    hook_with_image,
    image_by_digest,
    model_version,
    trigger_deploy,
    wait_for_version,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"ghcr.io/octo/cryptopredict@{DIGEST}"
HOOK_KEY = "s3cr3t-deploy-key"


def test_image_by_digest_pins_the_pushed_bytes():
    assert image_by_digest("ghcr.io/octo/cryptopredict", DIGEST) == IMAGE


@pytest.mark.parametrize(
    ("image", "digest"),
    [
        ("ghcr.io/octo/cryptopredict:latest", DIGEST),
        ("ghcr.io/octo/cryptopredict", "sha256:abc"),
        ("ghcr.io/octo/cryptopredict", ""),
        ("cryptopredict", DIGEST),
        ("ghcr.io/Octo/cryptopredict", DIGEST),
    ],
)
def test_anything_but_a_digest_reference_is_refused(image, digest):
    with pytest.raises(DeployError, match="pinned by digest"):
        image_by_digest(image, digest)


def test_an_image_already_in_the_hook_is_replaced_not_duplicated():
    url = hook_with_image(f"https://h/deploy/srv?key=k&imgURL=old{DIGEST}", IMAGE)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["imgURL"] == [IMAGE]


HOOKS = ["", "srv-abc", "api.render.com/deploy/srv?key=k", "ftp://x/y", "http://h/deploy/s?key=k"]


@pytest.mark.parametrize("hook", [*HOOKS, "https:/d?key=k", "http://127.0.0.2/d?key=k"])
def test_a_hook_that_is_not_an_https_url_is_refused_without_echoing_it(hook):
    with pytest.raises(DeployError, match="is not an https:// URL") as caught:
        hook_with_image(hook, IMAGE)
    assert not hook or hook not in str(caught.value)


def test_trigger_posts_the_hook_with_its_key_and_the_encoded_image_for_the_deploy_id(server):
    server.answer(200, json.dumps({"deploy": {"id": "dep-123"}}))
    assert trigger_deploy(f"{server.url}/deploy/srv-abc?key={HOOK_KEY}", IMAGE) == "dep-123"
    [(method, path)] = server.requests
    parts = urllib.parse.urlsplit(path)
    assert (method, parts.path) == ("POST", "/deploy/srv-abc")
    assert urllib.parse.parse_qs(parts.query) == {"key": [HOOK_KEY], "imgURL": [IMAGE]}
    assert "%40sha256%3A" in parts.query  # '@' and ':' are percent-encoded


def test_a_refused_hook_fails_with_the_status_and_never_the_key(server):
    server.answer(404, "not found")
    with pytest.raises(DeployError, match=r"HTTP 404.*regenerate the hook") as caught:
        trigger_deploy(f"{server.url}/deploy/srv-abc?key={HOOK_KEY}", IMAGE)
    assert HOOK_KEY not in str(caught.value)


def test_an_unreachable_hook_fails_clearly():
    with pytest.raises(DeployError, match="could not be reached"):
        trigger_deploy(f"http://127.0.0.1:9/deploy/srv?key={HOOK_KEY}", IMAGE, timeout=2)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"status": "ok", "model_version": "0.3.1-20260309180007"}', "0.3.1-20260309180007"),
        (b'{"model_version": "0.3.1-20260309180007-dirty"}', "0.3.1-20260309180007-dirty"),
        (b'{"model_version": 3}', ""),
        (b'{"note": "was 0.3.1-20260309180007"}', ""),
        (b"ok 0.3.1-20260309180007", ""),  # not JSON: not our /healthz
        (b"[]", ""),
        (b"", ""),
    ],
)
def test_the_model_version_is_what_healthz_names_exactly(body, expected):
    assert model_version(body) == expected


def test_wait_returns_once_healthz_reports_the_new_version(server, clock):
    server.answer(502, "bad gateway")
    server.answer(200, '{"model_version": "0.3.0-20260309120000"}')
    server.answer(200, '{"model_version": "0.3.1-20260309180007"}')
    attempts = wait_for_version(
        f"{server.url}/healthz",
        "0.3.1-20260309180007",
        timeout=600,
        interval=15,
    )
    assert attempts == 3
    assert clock.sleeps == [15, 15]
    assert all(path == "/healthz" for _, path in server.requests)


def test_wait_times_out_naming_what_it_last_saw(server, clock):
    server.answer(200, '{"model_version": "0.3.0-20260309120000"}')
    with pytest.raises(DeployError, match=r"within 60 s \(5 attempts; last: HTTP 200.*0\.3\.0"):
        wait_for_version(
            f"{server.url}/healthz",
            "0.3.1-20260309180007",
            timeout=60,
            interval=15,
        )


def test_wait_keeps_polling_while_nothing_answers(clock):
    with pytest.raises(DeployError, match=r"last: .*refused"):
        wait_for_version(
            "http://127.0.0.1:9/healthz",
            "0.3.1",
            timeout=30,
            interval=10,
        )
    assert len(clock.sleeps) == 3
