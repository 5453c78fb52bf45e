"""The first run, as a newcomer lives it (issue 47, bars 1 and 2; issue 56; issue 106): `make run`
on a fresh clone, its output piped to a file, timed line by line, polled every 100 ms.

`python -m bench.first_run` (`make bench-first-run`) clones the committed HEAD of this checkout
into a temporary directory (or uses `--clone DIR`), runs `make run` there on a free port with its
output piped, and measures:

- when the dependencies were installed (the Makefile's "installed: ..." line);
- the first answer (any status), and the first `200` from `/bitcoin?date=...` or from any pair's
  `/forecast/{asset}`, counted from the dependencies installed (issue 106: within 5 s and 15 s),
  and `/bitcoin`'s own first `200` (issue 111: the README's figure; issue 117: within 1.5 times
  BTC/USD's seconds on a worker, which `run.json` records);
- `/healthz`'s `training.eta_seconds` at every look: there from the first, never the same for
  more than 10 s while training lasts, within 50% of the time left from the first pair's end
  (while 2 s or more are left);
- while a browser waits on `/` (its reload every 2 s, its icon), the lines that are not
  training's own: at most one a second, none of them a refused request;
- then `make run` again with its port taken: it exits within 5 s, naming a port that works;
- until every pair's final model is served, that `/healthz` listed the pairs still training,
  with their progress, at every look (every two seconds);
- the longest stretch without a line while training (bar 2: under 30 seconds), every training
  line about a pair naming it, and every line at WARNING or above after the install;
- issue 56: every 15-second line about a pair naming a step that moves or saying it waits, the
  run's time left never below a pair's (`bench/progress_lines.py`); `/bitcoin` before its first
  200 answering 503 with Retry-After, never 404; a pair that failed named by `/healthz`, degraded,
  at every look after the log said so; every pair's forecast by its slug in capitals and by its
  symbol (`ETH%2FUSD`) what its slug answers;

then stops it with a SIGINT to make alone (`kill -INT <make's pid>`; `--ctrl-c`: to its whole
process group, as a terminal's Ctrl-C), timing until make exits and nothing of its session is
left, and prints the figures with the load average at the start and the end, and writes them to
`reports/first-run.json` (the output, each line timed from the command, to
`reports/first-run.log` as it comes). A loaded machine lengthens every figure: the bars are
meant for two idle cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import progress_lines

ROOT = Path(__file__).parents[1]
INSTALLED = "installed: training, serving and the collector's dependencies"
DATE = "2026-08-01"  # inside every embedded pair's forecast
DEADLINE_SECONDS = 3 * 3600
# A training log line: "2026-11-23T18:07:41 INFO    cryptopredict.training.graph: message".
LINE = re.compile(r"^\S+ (?P<level>[A-Z]+) +(?P<logger>[\w.]+): (?P<message>.*)$")
TRAINING_LOGGERS = ("cryptopredict.training", "cryptopredict.model", "cryptopredict.data", "train")
# Lines about the whole run, which name no pair first: training's own, the track record's
# opening line (what the previous release published, for every pair at once) and the old data's
# (each pair's data end and age in one line, `freshness.old_data`).
ABOUT_THE_RUN = re.compile(
    r"^(training(:| on | is over| failed for)|no Dask worker|no pair was trained|track record:"
    r"|the data is old: )"
)


@dataclass
class Line:
    at: float  # seconds since the command
    text: str


@dataclass
class Figures:
    command: str
    clone: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    installed_at: float | None = None
    first_answer_at: float | None = None
    first_200_at: float | None = None
    first_200_url: str | None = None
    bitcoin_200_at: float | None = None  # /bitcoin's own first 200
    all_served_at: float | None = None
    stopped_at: float | None = None  # Ctrl-C before every pair was served: figures until then
    healthz_looks: int = 0
    looks_without_training_listed: list[float] = field(default_factory=list)
    longest_silence: float | None = None
    longest_silence_ends: str | None = None
    unnamed_pair_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exit_status: int | None = None
    # issue 56
    progress_blocks: int = 0
    waiting_lines: int = 0
    written: int = 0  # pairs whose model the log says written
    not_moving: list[str] = field(default_factory=list)
    run_below_a_pair: list[str] = field(default_factory=list)
    # pairs written whose phases the log did not say in order
    not_phased: list[str] = field(default_factory=list)
    bitcoin_before_200: list[tuple[float, int, str | None]] = field(default_factory=list)
    failed_named_at: dict[str, float] = field(default_factory=dict)  # in the log
    looks_not_degraded: list[str] = field(default_factory=list)  # after a failure was logged
    healthz_failed_at_end: list[str] = field(default_factory=list)
    names_differing: list[str] = field(default_factory=list)
    names_checked: int = 0
    stop_signal: str = "SIGINT to make alone"
    stopped_in: float | None = None  # seconds from the signal until nothing of make was left
    left_running: list[str] = field(default_factory=list)
    # issue 106
    etas: list[tuple[float, float | None]] = field(default_factory=list)  # each look's run ETA
    first_pair_at: float | None = None  # the first model written
    last_pair_at: float | None = None  # the last
    longest_same_eta: float | None = None  # seconds one ETA was said while training lasted
    eta_errors: list[tuple[float, float, float]] = field(default_factory=list)  # at, said, left
    api_lines: int = 0  # lines while training that are not training's own
    refused_lines: int = 0  # of them, the proxy's lines of a refused request
    training_seconds: float | None = None
    pair_seconds: dict[str, float] = field(default_factory=dict)  # each pair's on a worker
    clash_exit: float | None = None  # seconds `make run` took to exit with its port taken
    clash_said: str = ""

    def after_install(self, at: float | None) -> float | None:
        return None if at is None or self.installed_at is None else at - self.installed_at

    def bars(self) -> dict[str, bool | None]:
        answered, first = map(self.after_install, (self.first_answer_at, self.first_200_at))
        # From the first pair's end, while 2 s or more are left: below, a whole second (what the
        # API says) is most of what is left.
        off = [abs(said - left) / left for _, said, left in self.eta_errors if left >= 2]
        worst = max(off, default=None)
        rate = self.api_lines / self.training_seconds if self.training_seconds else None
        bitcoin, btc_usd = self.after_install(self.bitcoin_200_at), self.pair_seconds.get("btc-usd")
        return {
            "117.5: /bitcoin's first 200 within 1.5x BTC/USD's training after the install": (
                None if bitcoin is None or btc_usd is None else bitcoin <= 1.5 * btc_usd
            ),
            "106.1: first answer within 5 s of the install": (
                None if answered is None else answered <= 5
            ),
            "106.1: first 200 within 15 s of the install": None if first is None else first <= 15,
            "106.2: /healthz's ETA there from the first look": bool(self.etas)
            and self.etas[0][1] is not None,
            "106.2: no ETA said for more than 10 s while training lasts": (
                None if self.longest_same_eta is None else self.longest_same_eta <= 10
            ),
            "106.2: the ETA within 50% of the time left from the first pair's end (2 s+)": (
                None if worst is None else worst <= 0.5
            ),
            "106.3: port taken: exits within 5 s naming a port that works": (
                self.clash_exit is not None
                and self.clash_exit <= 5
                and re.search(r"PORT=\d+ make run", self.clash_said) is not None
            ),
            "106.4: at most a line a second not training's, none a refusal": (
                None if rate is None else rate <= 1 and not self.refused_lines
            ),
            "1: /healthz lists the pairs training until all are served": (
                self.all_served_at is not None
                and self.healthz_looks > 0
                and not self.looks_without_training_listed
            ),
            "2: never 30 s without a line while training": (
                None if self.longest_silence is None else self.longest_silence < 30
            ),
            "2: every line about a pair names it": not self.unnamed_pair_lines,
            "nothing at WARNING on the normal path": not self.warnings,
            "56.1: every pair line names a moving step or says waiting": (
                self.written > 0 and not self.not_moving and not self.not_phased
            ),
            "56.1: the run's time left never below a pair's": not self.run_below_a_pair,
            "56.2: /healthz degraded, naming each failed pair, at every look after": (
                not self.looks_not_degraded
                and sorted(self.healthz_failed_at_end) == sorted(self.failed_named_at)
            ),
            "56.3: names in any case and symbols answer as the slug": (
                self.names_checked > 0 and not self.names_differing
            ),
            "56.3: /bitcoin before its first 200 answers 503 with Retry-After": all(
                status == 503 and retry for _, status, retry in self.bitcoin_before_200
            ),
            "56.4: stopped within 10 s, nothing left": (
                self.stopped_in is not None and self.stopped_in <= 10 and not self.left_running
            ),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_run", description=__doc__)
    parser.add_argument("--clone", type=Path, help="run in this clone (default: a fresh one)")
    parser.add_argument("--assets", help="ASSETS for make run (default: the product's)")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "first-run.json")
    parser.add_argument(
        "--ctrl-c", action="store_true", help="stop with a SIGINT to make's process group"
    )
    args = parser.parse_args(argv)
    # Run in the background of a shell, this process ignores SIGINT, and so would `make run`:
    # Ctrl-C must stop it, as at a terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="first-run-") as scratch:
        clone = args.clone or _fresh_clone(Path(scratch) / "cryptopredict")
        figures = measure(clone, assets=args.assets, ctrl_c=args.ctrl_c)
        figures.clash_exit, figures.clash_said = port_taken(clone)
        run = clone / "artifacts" / "run.json"  # what progress.PHASE_SECONDS is measured from
        figures.pair_seconds = json.loads(run.read_text())["seconds"] if run.exists() else {}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps({**asdict(figures), "bars": figures.bars()}, indent=1))
    _print(figures)
    return 0 if all(figures.bars().values()) else 1


def _fresh_clone(target: Path) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)], check=True
    )
    return target


def port_taken(clone: Path) -> tuple[float | None, str]:
    """`make run` with its port taken (the clone installed): seconds until it exits, and what
    it said (None: still running after 60 s)."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        env = {**os.environ, "PORT": str(taken.getsockname()[1])}
        began = time.monotonic()
        try:
            done = subprocess.run(
                ["make", "--no-print-directory", "run"], cwd=clone, env=env, capture_output=True,
                text=True, timeout=60, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as expired:
            return None, str(expired.stderr)
    return round(time.monotonic() - began, 1), done.stdout + done.stderr


def measure(clone: Path, *, assets: str | None = None, ctrl_c: bool = False) -> Figures:
    port = _free_port()
    env = {
        key: value for key, value in os.environ.items() if key not in ("MODEL_DIR", "VIRTUAL_ENV")
    }
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    if assets:
        env["ASSETS"] = assets
    figures = Figures(command="make run", clone=str(clone), load_before=os.getloadavg())
    lines: list[Line] = []
    began = time.monotonic()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    reader = threading.Thread(target=_read, args=(process, lines, began), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _follow(figures, base, lines, began, process)
    except KeyboardInterrupt:  # the figures so far (a loaded machine trains for hours)
        figures.stopped_at = time.monotonic() - began
    finally:
        _names(figures, base)
        _stop(figures, process, ctrl_c=ctrl_c)
        reader.join(timeout=10)
    figures.load_after = os.getloadavg()
    _read_lines(figures, lines)
    reading = progress_lines.read(line.text for line in lines)
    figures.progress_blocks, figures.waiting_lines = reading.blocks, reading.waiting_lines
    figures.not_moving, figures.run_below_a_pair = reading.not_moving, reading.run_below_a_pair
    written = {line.text.split(": ", 2)[1] for line in lines if " written to " in line.text}
    figures.written = len(written)
    figures.not_phased = sorted(
        slug for slug in written if not _in_order(reading.phases.get(slug, []))
    )
    return figures


def _in_order(said: list[str]) -> bool:
    """The phases a pair said: at least its backtest or final fit, each after the one before."""
    places = [progress_lines.PHASES.index(phase) for phase in said]
    return bool(places) and places == sorted(places) and max(places) > 0


def _stop(figures: Figures, process: subprocess.Popen, *, ctrl_c: bool) -> None:
    """SIGINT to make alone (or, `ctrl_c`, to its group), timed until nothing of it is left."""
    sent = time.monotonic()
    if ctrl_c:
        figures.stop_signal = "SIGINT to make's process group (Ctrl-C)"
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGINT)
    try:
        figures.exit_status = process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        figures.left_running.append("make itself, 120 s after the signal")
    while time.monotonic() - sent < 120:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            figures.stopped_in = round(time.monotonic() - sent, 1)
            return
        time.sleep(0.1)
    listed = ["ps", "-o", "pid=,args=", "-g", str(process.pid)]
    left = subprocess.run(listed, capture_output=True, text=True, check=False).stdout
    figures.left_running += left.splitlines()
    os.killpg(process.pid, signal.SIGKILL)
    figures.exit_status = process.wait()


def _names(figures: Figures, base: str) -> None:
    """Every served pair's forecast by its slug in capitals and by its symbol, slash encoded,
    against what its slug answers."""
    catalog = _json(f"{base}/assets") or {}
    for asset in catalog.get("assets", []):
        slug, symbol = asset["asset"], asset["symbol"]
        encoded = symbol.replace("/", "%2F")
        names = (slug, slug.upper(), encoded, encoded.lower())
        answers = {name: _body(f"{base}/forecast/{name}?date={DATE}") for name in names}
        figures.names_checked += 1
        for name, body in answers.items():
            if body is None or body != answers[slug]:
                figures.names_differing.append(f"/forecast/{name}")


def _body(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read()
    except (OSError, urllib.error.URLError):
        return None


def _read(process: subprocess.Popen, lines: list[Line], began: float) -> None:
    """Each line as it comes, timed, and into reports/first-run.log (to follow it meanwhile)."""
    assert process.stdout is not None
    (ROOT / "reports").mkdir(exist_ok=True)
    with (ROOT / "reports" / "first-run.log").open("w") as log:
        for text in process.stdout:
            line = Line(time.monotonic() - began, text.rstrip("\n"))
            lines.append(line)
            log.write(f"{line.at:8.1f} {line.text}\n")
            log.flush()


def _follow(
    figures: Figures, base: str, lines: list[Line], began: float, process: subprocess.Popen
) -> None:
    """Until training is over, every 100 ms: the first answer and the first 200, and /healthz
    (its ETA); a browser's look at `/` every 2 s."""
    looks: list[tuple[float, bool]] = []  # when, and whether it listed pairs training
    browsed = 0.0
    while time.monotonic() - began < DEADLINE_SECONDS and process.poll() is None:
        now = time.monotonic() - began
        if figures.installed_at is None:
            figures.installed_at = _first(lines, INSTALLED)
        if figures.bitcoin_200_at is None:
            _ask_bitcoin(figures, base, now)
        if now - browsed >= 2:  # a browser on the dashboard: every 2 s until a pair is served
            browsed = now
            _status(f"{base}/"), _status(f"{base}/favicon.ico")
        if figures.first_200_at is None:
            url = _first_200(base)
            if url is not None:
                figures.first_200_at, figures.first_200_url = now, url
        health = _json(f"{base}/healthz")  # `starting` before the first model
        if health is not None:
            figures.first_answer_at = figures.first_answer_at or now
            training = health.get("training")
            if training is not None or not figures.etas:
                figures.etas.append((round(now, 2), (training or {}).get("eta_seconds")))
            _failures(figures, lines, health, now)
            looks.append((now, training is not None))
            if training is None and _first(lines, "training is over") is not None:
                figures.all_served_at = figures.all_served_at or now
                # the server swaps in the last model within a second of its writing
                if figures.bitcoin_200_at is not None or now - figures.all_served_at > 30:
                    break
        time.sleep(0.1)
    figures.healthz_looks = len(looks)
    _time_left(figures, lines)
    after = _json(f"{base}/healthz")  # after the run
    figures.healthz_failed_at_end = [pair["asset"] for pair in (after or {}).get("failed", [])]
    # Until the last model was written, every look must have listed the pairs still training.
    last_written = max((line.at for line in lines if " written to " in line.text), default=0.0)
    figures.looks_without_training_listed = [
        round(at, 1) for at, listed in looks if not listed and at < last_written
    ]


def _ask_bitcoin(figures: Figures, base: str, now: float) -> None:
    """One look at `/bitcoin`: its first 200, or what it answered before."""
    status, retry = _status(f"{base}/bitcoin?date={DATE}")
    if status == 200:
        figures.bitcoin_200_at = now
    elif status is not None:
        figures.bitcoin_before_200.append((round(now, 1), status, retry))
    if status is not None and figures.first_answer_at is None:
        figures.first_answer_at = now


FAILED = re.compile(r" ERROR +cryptopredict\.training\.graph: ([a-z0-9]+-[a-z0-9]+): nothing ")


def _failures(figures: Figures, lines: list[Line], health: dict, now: float) -> None:
    """Each pair the log said failed, named by `health` (degraded) at every look after."""
    for line in list(lines):
        found = FAILED.search(line.text)
        if found is not None:
            figures.failed_named_at.setdefault(found.group(1), round(line.at, 1))
    named = {pair["asset"] for pair in health.get("failed", [])}
    for slug in figures.failed_named_at:
        if health.get("status") != "degraded" or slug not in named:
            figures.looks_not_degraded.append(f"{now:.1f} s: {slug} not named")


def _status(url: str) -> tuple[int | None, str | None]:
    """The status and Retry-After of `url`; None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")
    except (OSError, urllib.error.URLError):
        return None, None


def _first(lines: list[Line], text: str) -> float | None:
    return next((line.at for line in list(lines) if text in line.text), None)


def _first_200(base: str) -> str | None:
    """The first forecast that answers 200: `/bitcoin`, else any served pair's."""
    urls = [f"{base}/bitcoin?date={DATE}"]
    catalog = _json(f"{base}/assets") or {}
    urls += [f"{base}/forecast/{asset['asset']}?date={DATE}" for asset in catalog.get("assets", [])]
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return url
        except (OSError, urllib.error.URLError):
            continue
    return None


def _json(url: str) -> dict | None:
    """The JSON answer at `url`, an error's too; None when none comes."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        try:
            return json.load(error)
        except ValueError:
            return None
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _time_left(figures: Figures, lines: list[Line]) -> None:
    """From the looks' ETAs: the longest one said the same while training lasted, and from the
    first pair's end each against the time left until the last pair's."""
    written = [line.at for line in lines if " written to " in line.text]
    if not written or not figures.etas:
        return
    figures.first_pair_at, figures.last_pair_at = min(written), max(written)
    said = [(at, eta) for at, eta in figures.etas if at < figures.last_pair_at]
    runs = [list(same) for _, same in itertools.groupby(said, key=lambda look: look[1])]
    figures.longest_same_eta = round(max(run[-1][0] - run[0][0] for run in runs), 1)
    figures.eta_errors = [
        (at, eta, round(figures.last_pair_at - at, 2))
        for at, eta in said
        if at >= figures.first_pair_at and eta is not None
    ]


def _read_lines(figures: Figures, lines: list[Line]) -> None:
    """The silences while training, the lines about a pair that do not name it, the warnings."""
    start = figures.installed_at
    end = figures.all_served_at or figures.stopped_at
    if start is None or end is None:
        return
    training = [line for line in lines if start <= line.at <= end]
    stamps = [start, *(line.at for line in training), end]
    gaps = [(later - earlier, later) for earlier, later in itertools.pairwise(stamps)]
    silence, ends = max(gaps)
    figures.longest_silence = round(silence, 1)
    figures.longest_silence_ends = f"{ends:.1f} s after the command"
    slugs = _slugs(lines)
    for line in lines:
        if line.at < start:
            continue
        found = LINE.match(line.text)
        if found is None:
            continue
        if found["level"] in ("WARNING", "ERROR", "CRITICAL"):
            figures.warnings.append(line.text)
        logger, message = found["logger"], found["message"]
        about_a_pair = logger.startswith(TRAINING_LOGGERS) and not ABOUT_THE_RUN.match(message)
        named = (message.startswith((f"{slug}:", f"{slug} (")) for slug in slugs)
        if about_a_pair and not any(named):
            figures.unnamed_pair_lines.append(line.text)
        if not logger.startswith(TRAINING_LOGGERS) and line.at <= (figures.last_pair_at or end):
            figures.api_lines += 1
            figures.refused_lines += " status=503 " in message
    figures.training_seconds = round((figures.last_pair_at or end) - start, 1)


def _slugs(lines: list[Line]) -> set[str]:
    """The pairs the run trained, as its own lines name them ("<slug>: reading its history")."""
    found = (
        re.match(r"^\S+ INFO +\S+: ([a-z0-9]+-[a-z0-9]+): reading its history", line.text)
        for line in lines
    )
    return {match.group(1) for match in found if match}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _print(figures: Figures) -> None:
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.0f} s"

    first, installed = figures.first_200_at, figures.installed_at
    print(f"make run on a fresh clone ({figures.clone})")
    print(f"  load average before: {figures.load_before}, after: {figures.load_after}")
    print(f"  dependencies installed after {seconds(installed)}")
    print(f"  first answer after the install: {figures.after_install(figures.first_answer_at)}")
    print(f"  first 200 after {seconds(first)} ({figures.first_200_url})")
    if first is not None and installed is not None:
        print(f"  first 200, counted from the install: {first - installed:.0f} s")
    bitcoin = figures.after_install(figures.bitcoin_200_at)
    print(
        f"  /bitcoin's first 200, counted from the install: {seconds(bitcoin)} (from the "
        f"command: {seconds(figures.bitcoin_200_at)}; BTC/USD's seconds on a worker: "
        f"{figures.pair_seconds.get('btc-usd')})"
    )
    print(f"  every pair's final model served after {seconds(figures.all_served_at)}")
    if figures.stopped_at is not None:
        print(f"  stopped (Ctrl-C) after {seconds(figures.stopped_at)}: figures until then")
    print(
        f"  /healthz looked at {figures.healthz_looks} times; without the training listed: "
        f"{figures.looks_without_training_listed or 'never'}"
    )
    print(
        f"  longest silence while training: {seconds(figures.longest_silence)} "
        f"(ending {figures.longest_silence_ends})"
    )
    print(f"  lines about a pair not naming it: {len(figures.unnamed_pair_lines)}")
    for text in figures.unnamed_pair_lines[:10]:
        print(f"    {text}")
    print(f"  lines at WARNING or above after the install: {len(figures.warnings)}")
    for text in figures.warnings[:10]:
        print(f"    {text}")
    print(
        f"  issue 56: {figures.progress_blocks} progress blocks, {figures.waiting_lines} pair "
        f"lines saying waiting; not moving: {figures.not_moving or 'none'}; run below a pair: "
        f"{figures.run_below_a_pair or 'never'}; {figures.written} pairs written, their phases "
        f"not said in order: {figures.not_phased or 'none'}"
    )
    print(f"  /bitcoin before its first 200: {figures.bitcoin_before_200 or 'none'}")
    print(
        f"  failed in the log: {figures.failed_named_at or 'none'}; /healthz after the run "
        f"names: {figures.healthz_failed_at_end}; looks not degraded: "
        f"{figures.looks_not_degraded or 'none'}"
    )
    print(f"  names checked on {figures.names_checked} pairs; differing: {figures.names_differing}")
    print(
        f"  {figures.stop_signal}: nothing left after {seconds(figures.stopped_in)} "
        f"(left running: {figures.left_running or 'nothing'}); exit status {figures.exit_status}"
    )
    print(
        f"  issue 106: ETA first said {figures.etas[:1]}; longest said the same while training: "
        f"{figures.longest_same_eta} s; from the first pair's end (at, said, left): "
        f"{figures.eta_errors[:1]} ... {figures.eta_errors[-3:]}; each pair's seconds on a "
        f"worker: {figures.pair_seconds}"
    )
    print(
        f"  {figures.api_lines} lines not training's in its {figures.training_seconds} s, "
        f"{figures.refused_lines} of them refusals; port taken: exit after {figures.clash_exit} "
        f"s saying {figures.clash_said.strip().splitlines()[-2:]}"
    )
    for bar, holds in figures.bars().items():
        print(f"  bar {bar}: {'holds' if holds else 'does not hold'}")


if __name__ == "__main__":
    sys.exit(main())
