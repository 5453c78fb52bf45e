"""ci/smoke-image.sh, the check every pushed image passes before a tag moves, run against a fake
`docker` (none runs here) that serves through a loopback fake of the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.delivery.fake_site import DATE, VERSION

ROOT = Path(__file__).resolve().parents[2]
SHA = "89abcdef0123456789abcdef0123456789abcdef"

# Answers like Docker's for the calls the script makes; FAKE_* variables steer them.
FAKE_DOCKER = f"""#!/usr/bin/env bash
echo "docker $*" >>"$FAKE_LOG"
case "$1 $2" in
    "run --detach") echo 0123abcd ;;
    "exec cryptopredict-smoke")
        case "$3" in
            uname) echo "$FAKE_MACHINE" ;;
            id) echo "$FAKE_UID" ;;
        esac ;;
    "exec -i") shift 5; MODEL_DIR="$FAKE_MODEL_DIR" exec {sys.executable} - "$@" ;;
    "inspect --format")
        case "$3" in
            *Config.User*) echo 10001:10001 ;;
            *Health.Status*) echo "$FAKE_HEALTH" ;;
        esac ;;
    "logs cryptopredict-smoke") echo "server log" ;;
    "rm --force") ;;
    *) echo "fake docker: unexpected: $*" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def docker(tmp_path, site, healthy):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    models = tmp_path / "artifacts" / "btc-usd"
    models.mkdir(parents=True)
    (models / "manifest.json").write_text(json.dumps({"git_sha": SHA}))
    return {
        **os.environ,
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
        "SMOKE_PORT": site.rsplit(":", 1)[1],
        "SMOKE_WAIT": "6",
        "FAKE_LOG": str(tmp_path / "docker.log"),
        "FAKE_MODEL_DIR": str(tmp_path / "artifacts"),
        "FAKE_MACHINE": "aarch64",
        "FAKE_UID": "10001",
        "FAKE_HEALTH": "healthy",
        "GIT_SHA": SHA,
    }


def smoke(environ: dict[str, str], *platform: str) -> subprocess.CompletedProcess[str]:
    image = "ghcr.io/octo/cryptopredict@sha256:" + "ab" * 32
    return subprocess.run(
        [str(ROOT / "ci" / "smoke-image.sh"), image, VERSION, DATE, *platform],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_pushed_arm64_image_passes_every_check(docker):
    done = smoke(docker, "linux/arm64")
    assert done.returncode == 0, done.stderr
    assert "runs as aarch64 (linux/arm64)" in done.stdout
    assert "the image holds btc-usd" in done.stdout
    assert f"ok    /forecast/btc-usd?date={DATE}: 200, " in done.stdout
    assert "git_sha: btc-usd records" in done.stdout
    assert "HEALTHCHECK healthy" in done.stdout
    log = Path(docker["FAKE_LOG"]).read_text()
    assert "--platform linux/arm64 ghcr.io/octo/cryptopredict@sha256:" in log
    assert log.rstrip().endswith("docker rm --force cryptopredict-smoke")


@pytest.mark.parametrize(
    ("change", "platform", "failure"),
    [
        ({"FAKE_MACHINE": "x86_64"}, "linux/arm64", "machine is x86_64, not linux/arm64"),
        ({"FAKE_UID": "0"}, "linux/amd64", "runs as uid 0"),
        ({"GIT_SHA": "f" * 40}, "linux/arm64", "does not record the commit"),
        ({"FAKE_HEALTH": "unhealthy"}, "linux/arm64", "HEALTHCHECK unhealthy"),
    ],
)
def test_each_failure_stops_the_release_and_shows_the_server_log(docker, change, platform, failure):
    environ = {**docker, "FAKE_MACHINE": "x86_64" if platform == "linux/amd64" else "aarch64"}
    done = smoke({**environ, **change}, platform)
    assert done.returncode == 1
    assert failure in done.stderr
    assert "server log" in done.stderr
    assert "docker rm --force" in Path(docker["FAKE_LOG"]).read_text()


def test_a_server_that_answers_wrongly_fails(docker, healthy):
    healthy["/healthz"] = (200, "application/json", b'{"model_version": "0.1.0"}')
    done = smoke(docker)
    assert done.returncode == 1
    assert "does not answer as it should" in done.stderr


def test_a_pair_the_image_holds_but_does_not_serve_fails(docker):
    sol = Path(docker["FAKE_MODEL_DIR"]) / "sol-usd"
    sol.mkdir()
    (sol / "manifest.json").write_text(json.dumps({"git_sha": SHA}))
    done = smoke(docker, "linux/arm64")
    assert done.returncode == 1
    assert "FAIL  /assets: sol-usd held but not listed" in done.stdout
    assert "does not answer as it should" in done.stderr
