"""The Dockerfile, the build context, the Compose file and the Render Blueprint, read as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stage(name: str) -> str:
    """The instructions of one stage, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    stages = re.split(r"^FROM ", joined, flags=re.MULTILINE)[1:]
    [body] = [s for s in stages if re.search(rf" AS {name}\b", s.splitlines()[0])]
    return body


def test_training_runs_once_on_the_build_platform_from_the_same_base():
    train = re.match(r"--platform=\$BUILDPLATFORM (\S+) AS train\b", stage("train"))
    runtime = re.match(r"(\S+) AS runtime\b", stage("runtime"))
    assert train is not None
    assert runtime is not None
    assert train.group(1) == runtime.group(1)


def test_the_training_step_records_the_commit_it_was_given():
    train = stage("train")
    assert re.search(r"^ARG GIT_SHA=", train, re.MULTILINE)
    assert train.index("ARG GIT_SHA") < train.index("python train.py --all")
    assert 'GIT_SHA="$GIT_SHA"' in train


def test_build_id_comes_before_the_training_step():
    train = stage("train")
    assert train.index("ARG BUILD_ID") < train.index("python train.py --all --out /app/artifacts")


def test_the_image_holds_what_serving_reads_and_the_history_store_outlives_the_build():
    train = stage("train")
    # The training step's history store is a BuildKit cache mount, and the release's rule on
    # failed pairs.
    assert "--mount=type=cache,id=cryptopredict-cache,target=/cache,sharing=locked" in train
    assert "CRYPTOPREDICT_CACHE=/cache/history" in train
    assert "--budget" not in train
    assert "--tolerate 1 $TRAIN_ARGS" in train, "any pair carried, BTC/USD too (issue 119)"
    # The pickled models leave the artifacts in the same step, so no layer the runtime copies
    # from holds them.
    moved = train.index('mv "$pickled" "/app/models/')
    assert train.index("python train.py --all") < moved
    assert "COPY --from=train /app/artifacts/ artifacts/" in stage("runtime")
    copied = re.findall(r"^COPY --from=train (\S+)", stage("runtime"), re.MULTILINE)
    assert copied == ["/app/artifacts/"]


def test_each_stage_installs_only_its_own_requirements_checking_their_hashes():
    assert "pip install --no-cache-dir --require-hashes -r requirements-train.txt" in stage("train")
    runtime = stage("runtime")
    assert (
        "pip install --no-cache-dir --no-compile --require-hashes -r requirements-api.txt "
        in re.sub(r" +", " ", runtime)
    )
    assert "requirements-train" not in runtime
    assert "COPY data/" not in runtime


def test_the_runtime_runs_as_a_numeric_non_root_user_with_a_python_healthcheck():
    runtime = stage("runtime")
    [user] = re.findall(r"^USER (\S+)", runtime, re.MULTILINE)
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user)
    assert re.search(r'^HEALTHCHECK .* CMD \["python", "-c", ', runtime, re.MULTILINE)
    assert re.search(r'^CMD \["python", "api.py"\]$', runtime, re.MULTILINE)
    for name in ("version", "revision", "created", "source"):
        assert f"org.opencontainers.image.{name}=" in runtime


def test_no_secret_is_ever_an_arg_or_env():
    declared = re.findall(r"^(?:ARG|ENV) (\w+)", DOCKERFILE, re.MULTILINE)
    assert not [name for name in declared if re.search(r"KEY|SECRET|TOKEN|PASSWORD", name)]


def test_the_build_context_is_an_allowlist():
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {
        "api.py",
        "train.py",
        "requirements-api.txt",
        "requirements-train.txt",
        "cryptopredict",
        "data",
    }


def test_compose_builds_this_dockerfile_and_serves_on_8080():
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["cryptopredict"]
    assert service["build"]["context"] == "."
    assert service["ports"] == ["127.0.0.1:8080:8080"]
    assert set(service["build"]["args"]) <= set(re.findall(r"^ARG (\w+)", DOCKERFILE, re.MULTILINE))


def test_the_blueprint_runs_the_published_latest_image_with_its_health_check():
    """Issue 103: render.yaml is committed, not generated; `setup` and the deploy's check-pull
    read its image and registry credential as this parses them."""
    text = (ROOT / "render.yaml").read_text()
    [service] = yaml.safe_load(text)["services"]
    assert (service["type"], service["runtime"], service["plan"]) == ("web", "image", "free")
    assert service["image"] == {"url": "ghcr.io/owner.invalid/cryptopredict:latest"}
    assert 'url: "ghcr.io/owner.invalid/cryptopredict:latest"' in text, "as setup reads it"
    assert service["healthCheckPath"] == "/healthz"
    settings = {each["key"]: each["value"] for each in service["envVars"]}
    assert settings == {
        "PORT": "8080",
        "MAX_CONNECTIONS_PER_CLIENT": "0",
        "CLIENT_IP_HEADER": "True-Client-IP",
        "LATEST_PRICES": "binance,alpaca",
    }


LOCK_FILES = sorted(ROOT.glob("requirements-*.txt"))
_PIN = re.compile(r"^([A-Za-z0-9][\w.-]*)==\S+((?: \\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)


@pytest.mark.parametrize("path", LOCK_FILES, ids=lambda path: path.name)
def test_every_pin_of_every_lock_file_carries_its_hashes(path):
    text = path.read_text()
    pins = re.findall(r"^[A-Za-z0-9][\w.-]*==", text, re.MULTILINE)
    hashed = _PIN.findall(text)
    assert pins
    assert len(hashed) == len(pins), "a pin without --hash lines: run make lock"
    assert "--generate-hashes" in text.split("\n\n")[0], "the header records the lock command"


def test_make_lock_writes_hashes():
    makefile = (ROOT / "Makefile").read_text()
    [lock] = re.findall(r"pip-compile [^\n]*", makefile)
    assert "--generate-hashes" in lock


def test_the_dockerfile_frontend_is_pinned_by_digest():
    first = DOCKERFILE.splitlines()[0]
    assert re.fullmatch(r"# syntax=docker/dockerfile:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", first)


def test_the_pairs_and_the_dask_scheduler_reach_only_the_training_step():
    train = stage("train")
    assert re.search(r'^ARG ASSETS=""', train, re.MULTILINE), "empty: the product's default"
    assert train.index("ARG ASSETS") < train.index("python train.py --all")
    assert 'ASSETS="$ASSETS"' in train
    # The scheduler's address is a secret: never an ARG, which provenance would record.
    assert "--mount=type=secret,id=DASK_SCHEDULER_ADDRESS,required=false" in train
    assert "for name in ALPACA_API_KEY ALPACA_SECRET_KEY DASK_SCHEDULER_ADDRESS; do" in train
    assert "DASK_SCHEDULER_ADDRESS" not in re.findall(r"^(?:ARG|ENV) (\w+)", DOCKERFILE, re.M)
    assert "DASK" not in stage("runtime")
