"""Every setting, read from environment variables in one place.

Each field names its variable and documents its default; `python -m cryptopredict.config` prints
the table of the configuration page (`docs/configuration.md`, `make report`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The history sources `train.py --source` names (cryptopredict.data): here, where the training
# client, which never imports pandas, and the data package both read them.
SOURCE_NAMES = ("auto", "alpaca", "binance", "snapshot")


class ConfigError(ValueError):
    """An environment variable holds a value its setting cannot use."""


class Duration(float):
    """Seconds, written as a duration: `4h30m`, `90m`, `600s` or `600` (seconds), more than 0."""

    UNITS = (3600.0, 60.0, 1.0)  # the pattern's groups: hours, minutes, seconds
    PATTERN = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")

    def __new__(cls, text: str | float) -> Duration:
        if isinstance(text, int | float):
            seconds = float(text)
        else:
            found = cls.PATTERN.fullmatch(text.strip().lower())
            if found is None or not any(found.groups()):
                raise ValueError(f"not a duration (4h30m, 90m, 600s): {text!r}")
            seconds = sum(
                float(part) * unit
                for part, unit in zip(found.groups(), cls.UNITS, strict=True)
                if part
            )
        if not 0 < seconds < float("inf"):
            raise ValueError(f"a duration must be more than 0: {text!r}")
        return super().__new__(cls, seconds)

    def __str__(self) -> str:
        hours, rest = divmod(round(float(self)), 3600)
        minutes, seconds = divmod(rest, 60)
        text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n)
        return text or f"{float(self):g}s"


def _setting(env: str, default: Any, help: str, *, secret: bool = False) -> Any:
    return field(default=default, repr=not secret, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    cache_dir: Path = _setting(
        "CRYPTOPREDICT_CACHE", Path(".cache/history"), "Directory of the local history store."
    )
    fit_cache_dir: Path = _setting(
        "FIT_CACHE",
        Path(".cache/fits"),
        "Directory where training caches the backtest's Prophet fits, so a second run (or one "
        "that only adds bars) refits only what changed; delete it to refit everything.",
    )
    train_workers: int | None = _setting(
        "TRAIN_WORKERS",
        None,
        "Worker processes of the local Dask cluster training runs on (one thread each); unset: "
        "one per core. Ignored when DASK_SCHEDULER_ADDRESS is set.",
    )
    train_budget: Duration | None = _setting(
        "TRAIN_BUDGET",
        None,
        "How long a `train.py` run may take before its backtests stop (`train.py --budget`), "
        "counted from its start, a duration such as `4h30m`, `90m` or `600s`: every pair is "
        "served its quick model first; when the budget ends, no backtest starts or goes on (but "
        "those of the `--must-train` pairs), the pairs not backtested keep their quick model, "
        "said with why (`backtest deferred: budget`), and their refits so far stay in the fit "
        "cache for the next run. Unset: no limit.",
    )
    dask_scheduler_address: str | None = _setting(
        "DASK_SCHEDULER_ADDRESS",
        None,
        "Address of an existing Dask scheduler to train on, e.g. `tcp://10.0.0.5:8786` or "
        "`tls://...` (certificates from Dask's own configuration); unset: a local cluster.",
    )
    dask_dashboard_address: str = _setting(
        "DASK_DASHBOARD_ADDRESS",
        "127.0.0.1:0",
        "Where the local Dask cluster's dashboard listens while training (it has no "
        "authentication): loopback and a free port by default; `0.0.0.0:8787` opens it to "
        "every network.",
    )
    assets: str = _setting(
        "ASSETS",
        "btc-usd,eth-usd",
        "Pairs `train.py --all` trains (and the collector follows), comma-separated slugs "
        "`<base>-<quote>` such as `sol-usd` or `link-usdt` (cryptopredict/pairs.toml holds the "
        "exceptions to how they are named at each source); `*`: every pair the `--csv` file or "
        "the embedded snapshot holds; `top:N` (training only): BTC/USD, ETH/USD and the N spot "
        "pairs most traded against USDT on Binance in the last 24 hours, ranked when training "
        "starts (no stablecoin or fiat money against USDT, no leveraged token), as the release "
        "trains `top:200`.",
    )
    require_fresh_hours: float | None = _setting(
        "REQUIRE_FRESH_HOURS",
        None,
        "Strict mode: fail unless a live source returns a last bar at most this many hours old "
        "(the snapshot never qualifies). Unset: fall back to the snapshot.",
    )
    alpaca_api_key: str | None = _setting(
        "ALPACA_API_KEY", None, "Alpaca key id; optional, raises the rate limit.", secret=True
    )
    alpaca_secret_key: str | None = _setting(
        "ALPACA_SECRET_KEY", None, "Alpaca secret key; optional, with the key id.", secret=True
    )
    http_connect_timeout: float = _setting(
        "HTTP_CONNECT_TIMEOUT", 5.0, "Seconds to wait for a data source to accept a connection."
    )
    http_read_timeout: float = _setting(
        "HTTP_READ_TIMEOUT", 30.0, "Seconds to wait for a data source to answer a request."
    )
    http_attempts: int = _setting(
        "HTTP_ATTEMPTS", 4, "Attempts per request on 429, 5xx, timeouts and dropped connections."
    )
    fetch_timeout: float = _setting(
        "FETCH_TIMEOUT", 300.0, "Bound in seconds on one source's whole fetch, retries included."
    )
    max_bar_jump: float = _setting(
        "MAX_BAR_JUMP",
        3.0,
        "Reject history where a bar's open or close differs from the previous close by more "
        "than this factor (a low or high beyond it, the open and close within it, is a wick: "
        "kept, and reported in the manifest's validation); the collector likewise rejects a "
        "live minute whose high or low is this factor away from the median close of the "
        "minutes within 15 minutes of it.",
    )
    min_rows: int = _setting("MIN_ROWS", 100, "Reject history with fewer bars than this.")
    gate_min_coverage: float = _setting(
        "GATE_MIN_COVERAGE", 0.6, "Quality gate: lowest backtest coverage of the band at 7 days."
    )
    gate_max_coverage: float = _setting(
        "GATE_MAX_COVERAGE", 0.95, "Quality gate: highest backtest coverage of the band at 7 days."
    )
    gate_max_mape_ratio: float = _setting(
        "GATE_MAX_MAPE_RATIO",
        3.0,
        "Quality gate: highest 7-day MAPE of the model, as a multiple of the naive baseline's.",
    )
    model_version: str = _setting(
        "MODEL_VERSION", "dev", "Version recorded in the artifact; the release sets X.Y.Z."
    )
    git_sha: str | None = _setting(
        "GIT_SHA", None, "Commit recorded in the artifact; read from git when unset."
    )
    log_level: str = _setting("LOG_LEVEL", "INFO", "Logging level of the command-line tools.")
    access_log: bool = _setting(
        "ACCESS_LOG",
        False,
        "Whether the API writes a line per request (method, path, status, duration) to its "
        "log; off by default, since under load the writing costs throughput "
        "(docs/performance.md).",
    )
    model_dir: Path = _setting(
        "MODEL_DIR",
        Path("artifacts"),
        "Directory of the model artifacts, one per asset: training writes them, the API serves "
        "them.",
    )
    host: str = _setting(
        "HOST", "127.0.0.1", "Address the API listens on; the image sets `0.0.0.0`."
    )
    port: int = _setting("PORT", 8080, "Port the API listens on.")
    threads: int = _setting("THREADS", 4, "Waitress threads answering API requests.")
    connection_limit: int = _setting(
        "CONNECTION_LIMIT",
        4000,
        "Most connections the API keeps open at once; more wait until one closes. High, so that "
        "idle or slow clients cannot stop it answering (Waitress's own default is 100).",
    )
    channel_timeout: float = _setting(
        "CHANNEL_TIMEOUT",
        15.0,
        "Seconds a connection may stay idle between requests, and the most an answer may take "
        "to be sent, counted from when its request was received whole, however slowly the "
        "client reads; past either the API closes the connection (Waitress's own idle default "
        "is 120 s, and it has no bound on sending).",
    )
    request_timeout: float = _setting(
        "REQUEST_TIMEOUT",
        5.0,
        "Seconds a client has, from the first byte of a request, to send all of it (request "
        "line, headers and body); past it the API closes the connection, however steadily the "
        "bytes drip in.",
    )
    max_connections_per_client: int = _setting(
        "MAX_CONNECTIONS_PER_CLIENT",
        100,
        "Most connections one client address (an IPv6 /64) may hold open; one more is answered "
        "503 and closed. `0`: no cap. Behind a reverse proxy or load balancer every connection "
        "comes from its address: raise it, or set 0 and cap at the proxy.",
    )
    max_request_headers: int = _setting(
        "MAX_REQUEST_HEADERS",
        100,
        "Most header lines in a request; more are refused with 431 before they are parsed.",
    )
    max_request_body_size: int = _setting(
        "MAX_REQUEST_BODY_SIZE",
        65536,
        "Largest request body in bytes the API reads; a longer one is refused with 413 before "
        "it is read (every route is GET or HEAD: none reads a body). Waitress's own default is "
        "1 GiB.",
    )
    max_request_header_size: int = _setting(
        "MAX_REQUEST_HEADER_SIZE",
        16384,
        "Largest request line and headers in bytes; longer ones are refused with 431 (Waitress's "
        "own default is 256 KiB; nginx's and Apache's are 8 KiB a line).",
    )
    cors_origins: str = _setting(
        "CORS_ORIGINS",
        "*",
        "Origins allowed to call the API from a browser: `*` (any, without credentials) or a "
        "comma-separated list such as `https://a.example,https://b.example`.",
    )
    max_horizon_days: float = _setting(
        "MAX_HORIZON_DAYS",
        1096.0,
        "How far past the last bar the forecast reaches, in days: training precomputes the "
        "grid this far, and the API answers up to it (or the grid's end, if earlier).",
    )
    forecast_max_points: int = _setting(
        "FORECAST_MAX_POINTS",
        10000,
        "Most points one `/bitcoin/forecast` or `/forecast/{asset}/range` answer may hold.",
    )
    candles_max_points: int = _setting(
        "CANDLES_MAX_POINTS", 5000, "Most candles one `/candles/{asset}` answer may hold."
    )
    database_url: str = _setting(
        "DATABASE_URL",
        "sqlite:///.cache/market.db",
        "Database of live minute bars and of the archive of issued forecasts: the collector "
        "writes the minutes and the API reads them; the API writes its archive (tables of its "
        "own) when it first serves a model, and never stops serving when it cannot. "
        "`sqlite:///PATH` (relative; `sqlite:////PATH` absolute; WAL mode, so the API reads while "
        "the collector writes) or `postgresql://USER:PASSWORD@HOST:PORT/NAME`.",
    )
    live_connect_timeout: float = _setting(
        "LIVE_CONNECT_TIMEOUT",
        2.0,
        "Seconds the API waits for the minute-bar database to accept a connection and answer its "
        "greeting (PostgreSQL counts whole seconds, at least 2).",
    )
    live_statement_timeout: float = _setting(
        "LIVE_STATEMENT_TIMEOUT",
        2.0,
        "Seconds one read of the minute bars may take before it fails (PostgreSQL's "
        "`statement_timeout`; for SQLite the whole read, its wait for a lock included).",
    )
    live_retry_seconds: float = _setting(
        "LIVE_RETRY_SECONDS",
        5.0,
        "Seconds the API remembers that the minute-bar database failed, answering 503 at once "
        "instead of trying it again on every request; `0`: try on every request.",
    )
    live_max_threads: int = _setting(
        "LIVE_MAX_THREADS",
        2,
        "Most API threads reading the minute bars at once; a live-data request beyond them is "
        "answered 503 at once, so a slow database never holds the threads the forecasts need. "
        "Keep it below THREADS.",
    )
    live_max_rows: int = _setting(
        "LIVE_MAX_ROWS",
        10_000,
        "Most minute bars one `/candles/{asset}` answer built from the live minutes may read (a "
        "week is 10,080); a longer range is refused with 422 before it is read, and without "
        "`start` the last candles are as many as fit.",
    )
    live_cache_seconds: float = _setting(
        "LIVE_CACHE_SECONDS",
        5.0,
        "Seconds `/live` reuses its answer (all assets' minute windows, read in one query), "
        "and an asset's track record before it is read and scored again.",
    )
    binance_ws_url: str = _setting(
        "BINANCE_WS_URL",
        "wss://stream.binance.com:9443",
        "Base of Binance's websocket streams; the collector adds `/stream?streams=...`.",
    )
    binance_api_url: str = _setting(
        "BINANCE_API_URL",
        "https://api.binance.com",
        "Base of Binance's REST API: training's bars and `top:N`'s ranking of the market "
        "(`/api/v3/exchangeInfo`, `/api/v3/ticker/24hr`), the collector's backfill of minutes "
        "(`/api/v3/klines`).",
    )
    minute_retention_days: float = _setting(
        "MINUTE_RETENTION_DAYS",
        30.0,
        "Days of minute bars the collector keeps per asset, counted back from the clock; older "
        "ones are pruned, and any minute missing within them is backfilled.",
    )
    cache_seconds: int = _setting(
        "CACHE_SECONDS",
        600,
        "`Cache-Control: max-age` of forecast answers; short beside the six-hour retraining.",
    )

    def waitress_options(self) -> dict[str, object]:
        """The API's Waitress adjustments: room for slow clients, request bodies and headers
        refused past their bound before they are read, and no `Server` header; every other
        adjustment is Waitress's default (`tests/api/test_server_options.py`). The
        benchmark's comparison servers take none of these (`bench/serving.py`)."""
        return {
            "host": self.host,
            "port": self.port,
            "threads": self.threads,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.channel_timeout,
            # How often silent connections are looked for: often enough to honour the timeout.
            "cleanup_interval": max(1.0, self.channel_timeout / 2),
            # select() fails past 1,024 descriptors; poll() has no such limit.
            "asyncore_use_poll": True,
            # A Content-Length past the bound is answered 413 on the headers alone; a chunked
            # body, once that much has come.
            "max_request_body_size": self.max_request_body_size,
            "max_request_header_size": self.max_request_header_size,
            "ident": "",  # no Server header, which names the server for nobody's benefit
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values = {}
        for spec in dataclasses.fields(cls):
            raw = environ.get(spec.metadata["env"], "").strip()
            if raw:
                values[spec.name] = _convert(spec.metadata["env"], raw, hints[spec.name])
        return cls(**values)


def _convert(env: str, raw: str, hint: Any) -> Any:
    target = hint
    if isinstance(hint, types.UnionType):
        target = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if target is bool:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{env} must be true or false, got {raw!r}")
    try:
        return target(raw)
    except ValueError:
        kind = {
            int: "a whole number",
            float: "a number",
            Duration: "a duration such as 4h30m, 90m or 600s",
        }.get(target, target.__name__)
        raise ConfigError(f"{env} must be {kind}, got {raw!r}") from None


def settings_table() -> str:
    """The settings as a Markdown table, for the configuration page."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for spec in dataclasses.fields(Settings):
        default = "unset" if spec.default is None else f"`{spec.default}`"
        rows.append(f"| `{spec.metadata['env']}` | {default} | {spec.metadata['help']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
