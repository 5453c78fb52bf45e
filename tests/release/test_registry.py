"""Can Render pull the image? The registry asked as an anonymous client asks it (the OCI
distribution API's manifest request and the bearer token its 401 challenge offers), against a
local server speaking GHCR's answers (issue 51, bar 3)."""

from __future__ import annotations

import pytest

from tests.release.github_fork import blueprint
from tools.release.cli import main
from tools.release.registry import (
    PrivatePackageError,
    RegistryUnknownError,
    check_pullable,
)

DIGEST = "sha256:" + "ab" * 32
MANIFEST = f"/v2/octo/cryptopredict/manifests/{DIGEST}"
IMAGE = "ghcr.io/octo/cryptopredict"


def test_a_public_package_answers_an_anonymous_client_through_the_token_dance(server):
    server.route("/token", 200, '{"token": "anonymous-pull"}')
    server.answer(401, '{"errors": [{"code": "UNAUTHORIZED"}]}', server.challenge())
    server.answer(200, "{}")  # the manifest asked again, with the anonymous token
    said = check_pullable(IMAGE, DIGEST, "octo/cryptopredict", base_url=server.url)
    assert said == f"{IMAGE} is public: Render can pull {DIGEST} without a credential"
    assert [path for _, path in server.requests] == [MANIFEST, server.token_path, MANIFEST]


@pytest.mark.parametrize(
    ("challenged", "token", "retried"),
    [(False, None, None), (True, 401, None), (True, 403, None), (True, 200, 403)],
    ids=["401-without-a-challenge", "token-401", "token-403", "token-then-403"],
)
def test_a_private_package_names_its_visibility_and_the_settings(
    server, challenged, token, retried
):
    server.answer(401, "{}", server.challenge() if challenged else None)
    if token is not None:
        server.route("/token", token, '{"token": "t"}' if token == 200 else "{}")
    if retried is not None:
        server.answer(retried, "{}")
    with pytest.raises(PrivatePackageError) as caught:
        check_pullable(IMAGE, DIGEST, "octo/cryptopredict", base_url=server.url)
    said = str(caught.value)
    assert "the package's visibility is private" in said
    assert "https://github.com/octo/cryptopredict/pkgs/container/cryptopredict" in said
    assert "Change visibility -> Public" in said
    assert "fromRegistryCreds" in said


def test_an_unreachable_registry_warns_and_the_deploy_goes_on(capsys):
    args = ["check-pull", "--image", IMAGE, "--digest", DIGEST, "--repository", "octo/c"]
    environ = {"RELEASE_REGISTRY_URL": "http://127.0.0.1:9"}  # nothing listens on discard
    assert main(args, environ=environ) == 0
    assert "::warning title=package visibility::" in capsys.readouterr().out
    with pytest.raises(RegistryUnknownError):
        check_pullable(IMAGE, DIGEST, "octo/c", base_url="http://127.0.0.1:9")


def test_a_blueprint_that_names_a_registry_credential_pulls_with_it(tmp_path, capsys, server):
    """render.yaml with the image's `creds: fromRegistryCreds: name:` (as Render documents it)."""
    (tmp_path / "render.yaml").write_text(blueprint("octo", "ghcr-read"))
    args = ["check-pull", "--image", IMAGE, "--digest", DIGEST, "--repository"]
    args += ["octo/cryptopredict", "--blueprint", str(tmp_path / "render.yaml")]
    assert main(args, environ={"RELEASE_REGISTRY_URL": server.url}) == 0
    assert "with the registry credential 'ghcr-read'" in capsys.readouterr().out
    assert server.requests == [], "a private package is fine then: not asked"


def test_a_registry_failing_transiently_is_asked_again_after_each_delay(server, monkeypatch):
    """Issue 82: the registry's 503 or 429 is asked again after the back-off's delays, and a
    refusal is not (tools/release/retry.py)."""
    slept: list[float] = []
    monkeypatch.setattr("tools.release.retry.sleep", slept.append)  # this module's alone
    monkeypatch.setenv("RELEASE_RETRY_DELAYS", "10 30 90")
    server.answer(503, "{}")
    server.answer(429, "{}")
    server.answer(200, "{}")
    assert "is public" in check_pullable(IMAGE, DIGEST, "octo/cryptopredict", base_url=server.url)
    assert (slept, len(server.requests)) == ([10.0, 30.0], 3)
    server.answers.clear()
    server.answer(403, "{}")
    with pytest.raises(PrivatePackageError):
        check_pullable(IMAGE, DIGEST, "octo/cryptopredict", base_url=server.url)
    assert (slept, len(server.requests)) == ([10.0, 30.0], 4), "a refusal, asked once"
