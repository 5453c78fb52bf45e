"""The quick start runs as written (issue 47): every command the README's and the getting-started
page's quick start show is run here as they write it, in a clone of this checkout sharing its
virtualenv, on a free port, until it shows it works; then it is stopped as a user stops it
(Ctrl-C).

The commands are read from the documents, so a command added there and not known here fails the
test, as does a command that fails as written (`python train.py` outside the virtualenv, say,
or a tool that `make run` does not install).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.readme import FENCE
from tests.e2e.training import ROOT
from tests.ports import free_port

DOCUMENTS = {"README.md": ROOT / "README.md", "docs/index.md": ROOT / "docs" / "index.md"}
# A command in inline code: what a user types at a shell prompt.
INLINE = re.compile(r"`((?:[A-Z_]+=\S+ )*(?:make|\.venv/bin/\w+|docker|python)(?= |`)[^`]*)`")
SECTION = re.compile(r"^## Quick start\n(.*?)(?=^## )", re.MULTILINE | re.DOTALL)
DATE = "2026-08-01"


def quick_start_commands(text: str) -> list[str]:
    """The shell commands of a document's quick start section, in the order shown."""
    found = SECTION.search(text)
    assert found, "no `## Quick start` section"
    section = found.group(1)
    commands = []
    for block in FENCE.finditer(section):
        for line in block.group(1).splitlines():
            command = line.split("#")[0].strip()
            if command:
                commands.append(command)
    commands += [match.group(1).strip() for match in INLINE.finditer(section)]
    return list(dict.fromkeys(commands))


@dataclass
class Run:
    """A command running in the clone, its output in `log`."""

    process: subprocess.Popen
    log: Path
    url: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, ok: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not ok():
            assert self.process.poll() is None, f"exited ({what}): {self.output()[-4000:]}"
            assert time.monotonic() < deadline, (
                f"timed out waiting for {what}: {self.output()[-4000:]}"
            )
            time.sleep(1.0)

    def answers(self, path: str) -> bool:
        try:
            return requests.get(self.url + path, timeout=10).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # Ctrl-C
        try:
            return self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


@pytest.fixture(scope="module", autouse=True)
def ctrl_c_stops() -> Iterator[None]:
    """Ctrl-C (SIGINT) stops a command, as at a terminal, also where this suite runs in the
    background of a shell, which has what it starts ignore SIGINT (and what they start)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of this checkout (what a newcomer has), with this checkout's virtualenv: its
    install stamps kept newer than the clone's requirement files, so `make` installs nothing."""
    target = tmp_path_factory.mktemp("quick-start") / "cryptopredict"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    (target / ".venv").symlink_to(ROOT / ".venv")
    with (target / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("/.venv\n")  # a link, which the clone's `/.venv/` does not match
    for requirements in target.glob("requirements-*.txt"):
        os.utime(requirements, (0, 0))
    return target


def _start(clone: Path, command: str, log: Path, port: int, **env: str) -> Run:
    environment = {**os.environ, "PORT": str(port), **env}
    for name in ("MODEL_DIR", "VIRTUAL_ENV", "ASSETS"):
        if name not in env:
            environment.pop(name, None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=clone,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Run(process, log, f"http://127.0.0.1:{port}")


def _serves_a_forecast(run: Run, *assets: str) -> None:
    paths = [f"/forecast/{asset}?date={DATE}" for asset in assets]
    run.wait_for(f"a forecast of {assets}", lambda: any(run.answers(p) for p in paths), 900)


def check_make_run(run: Run) -> None:
    _serves_a_forecast(run, "btc-usd", "eth-usd")
    assert run.answers("/healthz")


def check_make_run_no_backtest(run: Run) -> None:
    check_make_run(run)


def check_make_run_bad_pair(run: Run) -> None:
    _serves_a_forecast(run, "sol-usdt")
    # The pair is named from its first step on ("nosuch-usd: reading its history"): wait for why.
    failed = r"nosuch-usd: .*no source delivered NOSUCH/USD"
    run.wait_for("the bad pair named", lambda: re.search(failed, run.output()) is not None, 300)


def check_make_run_pairs(run: Run) -> None:
    _serves_a_forecast(run, "sol-usdt", "doge-usdt")


def check_make_serve(run: Run) -> None:
    _serves_a_forecast(run, "btc-usd")


def check_make_live(run: Run) -> None:
    run.wait_for("a live minute", lambda: run.answers("/price/btc-usd"), 300)


def check_training(pairs: int) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        # The run's line counts every pair; quick pairs may be done before its first one.
        said = re.compile(rf"training: \d+ of {pairs} pairs done")
        run.wait_for(
            f"training of {pairs} pairs under way",
            lambda: said.search(run.output()) is not None,
            300,
        )
        run.wait_for(
            "a pair's history read", lambda: ": source snapshot served" in run.output(), 600
        )

    return check


def check_mkdocs(run: Run) -> None:
    run.wait_for("the docs served", lambda: "Serving on" in run.output(), 300)


# What each command needs and how it shows it works. `arguments` are added to the command as
# written (the port to serve on); a command that sets PORT=8081 runs as the one without it, on a
# free port (`_as_run`).
@dataclass(frozen=True)
class Check:
    check: Callable[[Run], None] | None
    arguments: str = ""
    env: tuple[tuple[str, str], ...] = ()
    served_model: bool = False  # needs a trained model in MODEL_DIR
    not_here: str = ""  # why it is not run here, and what runs it


CHECKS: dict[str, Check] = {
    "make run": Check(check_make_run),
    "make test": Check(None, not_here="this test runs inside `make test`'s sibling, `make e2e`"),
    "WITHOUT=wrk,postgresql make test": Check(
        None, not_here="`make test` with tests skipped; CI runs it with nothing left out"
    ),
    "LATEST_PRICES=binance,alpaca make run": Check(
        None,
        not_here="reaches Binance and Alpaca: tests/api/test_latest_prices.py runs the "
        "shipped settings against a local stand-in of Binance",
    ),
    "PORT=8081 make run": Check(check_make_run),  # the port: a free one here
    "PORT=8081 make serve": Check(check_make_serve, served_model=True),
    "PORT=8081 make live": Check(check_make_live, served_model=True),
    "make serve": Check(check_make_serve, served_model=True),
    "make live": Check(check_make_live, served_model=True),
    "ASSETS=sol-usdt,doge-usdt,link-usdt .venv/bin/python train.py --all": Check(check_training(3)),
    "ASSETS='*' .venv/bin/python train.py --all --source snapshot": Check(check_training(16)),
    "ASSETS=nosuch-usd,sol-usdt make run": Check(check_make_run_bad_pair),
    "ASSETS=sol-usdt,doge-usdt make run": Check(check_make_run_pairs),
    "make bench": Check(None, not_here="a benchmark of its own, minutes on idle cores"),
    "make soak": Check(None, not_here="a benchmark of its own; the suite runs a 15 s soak"),
    "make run TRAIN_ARGS=--no-backtest": Check(check_make_run_no_backtest),
    ".venv/bin/mkdocs serve": Check(check_mkdocs, arguments=" --dev-addr 127.0.0.1:{port}"),
    "make docs": Check(None, not_here="`make test` runs it (the docs build, --strict)"),
    "docker run -p 8081:8080 ...": Check(
        None, not_here="needs a Docker engine: `make image-test` builds and runs the image"
    ),
    "docker run --security-opt no-new-privileges -p 8080:8080 ghcr.io/<owner>/<repo>:latest": Check(
        None, not_here="pulls the published image: `make image-test` builds and runs it"
    ),
    "docker compose up --build": Check(
        None, not_here="needs a Docker engine: `make image-test` builds and runs the image"
    ),
    "docker login ghcr.io": Check(None, not_here="a registry login, with the owner's token"),
}


def _documented() -> list[tuple[str, str]]:
    return [
        (name, command)
        for name, path in DOCUMENTS.items()
        for command in quick_start_commands(path.read_text())
    ]


def test_every_quick_start_command_is_known_here():
    unknown = [f"{name}: {command}" for name, command in _documented() if command not in CHECKS]
    assert not unknown, "add each to CHECKS, with how it shows it works: " + "; ".join(unknown)
    assert {"make run", "make test"} <= {command for _, command in _documented()}


def _as_run(command: str) -> str:
    """The command as run here: every run is given a free port in PORT, so `PORT=8081 make run`
    runs as `make run` does (the port it writes is the one replaced)."""
    return command.removeprefix("PORT=8081 ")


RUN_HERE = sorted(
    {_as_run(command) for _, command in _documented() if CHECKS.get(command, Check(None)).check}
)


@pytest.mark.parametrize("command", RUN_HERE)
def test_the_quick_start_command_works_as_written(command, clone, request, tmp_path):
    check = CHECKS[command]
    assert check.check is not None
    port = free_port()
    typed = command + check.arguments.format(port=port)
    # Only the commands that serve a trained model wait for the real model's training.
    env = {"MODEL_DIR": str(request.getfixturevalue("model_dir"))} if check.served_model else {}
    run = _start(clone, typed, tmp_path / "output.log", port, **env)
    try:
        check.check(run)
        assert "Traceback" not in run.output(), run.output()[-4000:]
    finally:
        status = run.stop()
    assert status in (0, 130, -signal.SIGINT), f"{command} exited {status}: {run.output()[-4000:]}"
    # Nothing was written into the clone's tree that git would see.
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=normal"],
        cwd=clone, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert changed == "", changed


def test_the_commands_are_read_from_the_quick_start():
    text = """# Page
## Quick start

```sh
make run    # serve
make test   # test
```

`make serve` serves; `ASSETS=sol-usd make run` trains SOL; see `/bitcoin?date=2026-08-01`.

## Next
`make bench`
"""
    assert quick_start_commands(text) == [
        "make run", "make test", "make serve", "ASSETS=sol-usd make run",
    ]  # fmt: skip


def test_a_removed_command_is_caught(tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    text = (tmp_path / "README.md").read_text().replace("make run", "make go", 1)
    assert "make go" in quick_start_commands(text)
    assert "make go" not in CHECKS
