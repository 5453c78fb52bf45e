"""The served image's configuration: non-root, HEALTHCHECK kept, the right command and labels."""

from __future__ import annotations

import json

import pytest

from ci.image_config import ConfigError, check, docker_config, main

LABELS = {
    f"org.opencontainers.image.{name}": value
    for name, value in {
        "version": "1.2.3",
        "revision": "abc123",
        "created": "2026-03-09T18:00:07Z",
        "source": "https://github.com/octo/cryptopredict",
    }.items()
}


def config(**changes) -> dict:
    base = {
        "User": "10001:10001",
        "Healthcheck": {"Test": ["CMD", "python", "-c", "..."]},
        "Env": ["PATH=/usr/local/bin", "HOST=0.0.0.0", "PORT=8080"],
        "Entrypoint": [],
        "Cmd": ["python", "api.py"],
        "Labels": dict(LABELS),
    }
    return {**base, **changes}


def test_a_good_image_passes():
    lines = check(config(), {"org.opencontainers.image.version": "1.2.3"})
    assert lines[0] == "user: uid 10001 (non-root)"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"User": ""}, "numeric uid"),
        ({"User": "app"}, "numeric uid"),
        ({"User": "0:0"}, "root"),
        ({"User": "0"}, "root"),
        ({"Healthcheck": None}, "no HEALTHCHECK"),
        ({"Healthcheck": {"Test": ["NONE"]}}, "no HEALTHCHECK"),
        ({"Env": ["HOST=127.0.0.1", "PORT=8080"]}, "HOST is '127.0.0.1'"),
        ({"Env": ["HOST=0.0.0.0"]}, "PORT is None"),
        ({"Cmd": ["flask", "run"]}, "the command is"),
        ({"Entrypoint": ["sh", "-c"]}, "the command is"),
        ({"Labels": {}}, "org.opencontainers.image.version is missing"),
    ],
)
def test_each_misconfiguration_is_named(changes, problem):
    with pytest.raises(ConfigError, match=problem):
        check(config(**changes), {})


def test_a_label_with_the_wrong_value_is_named():
    with pytest.raises(ConfigError, match="revision is 'abc123', expected 'def456'"):
        check(config(), {"org.opencontainers.image.revision": "def456"})


def test_an_oci_format_image_is_refused_because_it_drops_the_healthcheck():
    with pytest.raises(ConfigError, match="--format docker"):
        docker_config({"Docker": {"config": {}}, "OCIv1": {"config": {}}})


def test_the_shell_gets_the_uid_and_the_command(tmp_path, capsys):
    inspect = tmp_path / "inspect.json"
    inspect.write_text(json.dumps({"Docker": {"config": config()}}))
    assert main([str(inspect), "--print-user"]) == 0
    assert capsys.readouterr().out == "10001\n"
    assert main([str(inspect), "--print-command"]) == 0
    assert capsys.readouterr().out == "python\0api.py\0"
