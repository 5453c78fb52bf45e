"""The settings, read from environment variables: each a field of one section (`Source`, `Gate`,
`Server`, ...) with its type, default and checks (msgspec's constraints), its meaning in
MEANINGS; a process's settings (`PROCESSES`) are the sections it reads, so a malformed variable
a process does not read never stops it. A new setting: its meaning, and a field written as the
others are; `python -m tools.settings` writes the configuration page's tables from them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Self

import msgspec

from cryptopredict.logs import redact

# `train.py --source`'s: here, where the training client (no pandas) reads them.
SOURCE_NAMES = ("auto", "alpaca", "binance", "snapshot")
LOG_LEVEL = r"(?i)^(debug|info|warning|error|critical)$"
LEVELS = "DEBUG, INFO, WARNING, ERROR or CRITICAL, in any case"
HEADER, NAME = r"^[A-Za-z0-9-]*$", "a header's name (letters, digits and dashes)"
_POLLED = r"\s*(binance|alpaca)(=https?://(\[[0-9a-f:.]+\]|[^][\s,@/]+)(/[^\s,@]*)?)?\s*"  # no @
LATEST_PRICES = rf"(?i)^{_POLLED}(,{_POLLED})*$"
POLLED = "binance, alpaca or both, comma-separated, e.g. binance,alpaca or binance=https://HOST"


class ConfigError(ValueError):
    """An environment variable holds a value its setting cannot use."""


MEANINGS = {
    "BINANCE_API_URL": (
        "Base of Binance's REST API: training's bars and `top:N`'s ranking of the market "
        "(`/api/v3/exchangeInfo`, `/api/v3/ticker/24hr`)."
    ),
    "ALPACA_DATA_URL": "Base of Alpaca's market data API: training's bars.",
    "HTTP_CONNECT_TIMEOUT": "Seconds to wait for a data source to accept a connection.",
    "HTTP_READ_TIMEOUT": "Seconds to wait for a data source to answer a request.",
    "HTTP_ATTEMPTS": "Attempts per request on 429, 5xx, timeouts and dropped connections.",
    "ALPACA_API_KEY": "Alpaca key id; optional, raises the rate limit.",
    "ALPACA_SECRET_KEY": "Alpaca secret key; optional, with the key id.",
    "CRYPTOPREDICT_CACHE": "Directory of the local history store.",
    "REQUIRE_FRESH_HOURS": (
        "Strict mode: fail unless a live source returns a last bar at most this many hours old "
        "(the snapshot never qualifies). Unset: fall back to the snapshot."
    ),
    "FETCH_TIMEOUT": "Bound in seconds on one source's whole fetch, retries included.",
    "MIN_ROWS": "Reject history with fewer bars than this.",
    "MAX_BAR_JUMP": (
        "Reject history where a bar's open or close differs from the previous close by more than "
        "this factor (a low or high beyond it, the open and close within it, is a wick: kept, and "
        "reported in the manifest's validation); the market feed likewise rejects a live minute "
        "whose high or low is this factor away from the median close of the minutes within 15 "
        "minutes of it."
    ),
    "GATE_MIN_COVERAGE": "Quality gate: lowest backtest coverage of the band at 7 days.",
    "GATE_MAX_COVERAGE": "Quality gate: highest backtest coverage of the band at 7 days.",
    "GATE_MAX_MAPE_RATIO": (
        "Quality gate: highest 7-day MAPE of the model, as a multiple of the naive baseline's."
    ),
    "ASSETS": (
        "Pairs `train.py --all` trains (and the market feed follows), comma-separated slugs "
        "`<base>-<quote>` such as `sol-usd` or `link-usdt` (cryptopredict/pairs.toml holds the "
        "exceptions to how they are named at each source); `*`: every pair the `--csv` file or the"
        " embedded snapshot holds; `top:N` (training only): BTC/USD, ETH/USD and the N spot pairs "
        "most traded against USDT on Binance in the last 24 hours, ranked when training starts (no"
        " stablecoin or fiat money against USDT, no leveraged token), as the release trains "
        "`top:200`."
    ),
    "MODEL_DIR": (
        "Directory of the model artifacts, one per asset: training writes them there (`train.py "
        "--out` overrides it), the API serves them."
    ),
    "MAX_HORIZON_DAYS": (
        "How far past the last bar the forecast reaches, in days: training precomputes the grid "
        "this far, and the API answers up to it (or the grid's end, if earlier)."
    ),
    "TRAIN_WORKERS": (
        "Worker processes of the local Dask cluster training runs on (one thread each); unset: one"
        " per core. Ignored when DASK_SCHEDULER_ADDRESS is set."
    ),
    "DASK_SCHEDULER_ADDRESS": (
        "Address of an existing Dask scheduler to train on, e.g. `tcp://10.0.0.5:8786` or "
        "`tls://...` (certificates from Dask's own configuration); unset: a local cluster."
    ),
    "DASK_DASHBOARD_ADDRESS": (
        "Where the local Dask cluster's dashboard listens while training (it has no "
        "authentication): loopback and a free port by default; `0.0.0.0:8787` opens it to every "
        "network."
    ),
    "MODEL_VERSION": "Version recorded in the artifact; the release sets X.Y.Z.",
    "TRACK_RECORD_AFRESH": (
        "Why the track record starts anew, written into each pair's record: set it for one "
        "run when a published record is lost or broken. Unset, `train.py` extends the record "
        "it reads (`--previous`, else its own MODEL_DIR) and fails when a published one cannot "
        "be read."
    ),
    "PREVIOUS_IMAGE": (
        "The release image, by digest, whose model directory `--previous` names (the release "
        "sets it): its track record is extended, a missing one fails the run unless "
        "`TRACK_RECORD_AFRESH` says why to start anew, and `run.json` names the image."
    ),
    "GIT_SHA": "Commit recorded in the artifact; read from git when unset.",
    "HOST": (
        "Address the API listens on (its proxy; `python api.py --alone`: Waitress itself); the "
        "image sets `0.0.0.0`."
    ),
    "PORT": "Port the API listens on; `0`: a free one, which the log names.",
    "THREADS": "Waitress threads answering API requests.",
    "MAX_CONNECTIONS_PER_CLIENT": (
        "Most connections one client address (an IPv6 /64) may hold open through the API's proxy "
        "(`python api.py`, the image); one more is closed as soon as it is accepted. "
        "`0`: no cap, as behind another proxy or load balancer, from whose address every "
        "connection comes."
    ),
    "CLIENT_IP_HEADER": (
        "Behind another proxy, the one request header it sets to the client's address, read on "
        "connections from a private address only, its last value (the hop's): `True-Client-IP` "
        "on Render (render.yaml), `X-Forwarded-For` behind a load balancer that appends the "
        "address it met. Unset: the connection's address is the client (docs/operations.md, "
        "Who is a client)."
    ),
    "ACCESS_LOG": (
        "Whether the API writes a line per request (client address, method, path, status, "
        "duration) to its log; "
        "off by default, since under load the writing costs throughput (docs/performance.md)."
    ),
    "CORS_ORIGINS": (
        "Origins allowed to call the API from a browser: `*` (any, without credentials) or a "
        "comma-separated list such as `https://a.example,https://b.example`."
    ),
    "FORECAST_MAX_POINTS": (
        "Most points one `/bitcoin/forecast` or `/forecast/{asset}/range` answer may hold."
    ),
    "CANDLES_MAX_POINTS": "Most candles one `/candles/{asset}` answer may hold.",
    "CACHE_SECONDS": (
        "`Cache-Control: max-age` of forecast answers; short beside the six-hour retraining."
    ),
    "LATEST_PRICES": (
        "The exchanges the market feed polls, in the order it tries them (the next where one "
        "refuses): `binance` (its market-data host, no keys), `alpaca` (no keys needed), or both,"
        " comma-separated, each with its base URL if not the default "
        "(`binance=https://data-api.binance.vision`). Each poll reads the latest price of every "
        "served pair and ASSETS' closed minutes, so the forecasts start from the latest price. "
        "Unset or blank: the API runs no feed (`python -m cryptopredict.collect` polls "
        "`binance,alpaca` then); the image and the Render Blueprint set `binance,alpaca`."
    ),
    "LATEST_PRICE_SECONDS": (
        "Seconds between two polls of the market feed (at least a minute): each starts a few "
        "seconds after the clock passes a multiple of it."
    ),
    "LATEST_PRICE_TIMEOUT": (
        "Seconds the market feed waits for an exchange to accept a connection, and for each read "
        "of its answer; the feed runs on its own thread, so no request ever waits for it."
    ),
    "POLLER_FAILING_AFTER": (
        "Seconds the market feed may fail, or record no poll (its process stopped), before "
        "`/healthz` says `degraded`; longer than `LATEST_PRICE_SECONDS`."
    ),
    "STALE_AFTER_HOURS": (
        "The service's promise of fresh data: `/healthz` says `degraded` (still HTTP 200), naming"
        " the pairs in `stale`, while a served pair's newest bar is older than this many hours. "
        "12, the six-hour release schedule with room for one failed cycle, in the image, the "
        "Render Blueprint and the code alike: a `make run` on the embedded snapshot (months "
        "old) serves, and says in `/healthz` how old its data is."
    ),
    "NOTE_AFTER_HOURS": (
        "A forecast whose starting price (`anchor`) is older than this many hours says so in "
        "words in its `note`, with how to get fresh prices."
    ),
    "DATABASE_URL": (
        "The market feed's database (live minute bars, latest prices): the feed writes it and the"
        " API reads it (the track record is baked into the image, not kept here). "
        "`sqlite:///PATH` (relative; `sqlite:////PATH` absolute; WAL mode, so the API reads while "
        "the feed writes; the API process runs the feed itself) or "
        "`postgresql://USER:PASSWORD@HOST:PORT/NAME` (one `python -m cryptopredict.collect` "
        "feeds it)."
    ),
    "LIVE_CONNECT_TIMEOUT": (
        "Seconds the API waits for the minute-bar database to accept a connection and answer its "
        "greeting (PostgreSQL counts whole seconds, at least 2)."
    ),
    "LIVE_STATEMENT_TIMEOUT": (
        "Seconds one read of the minute bars may take before it fails (PostgreSQL's "
        "`statement_timeout`; for SQLite the whole read, its wait for a lock included)."
    ),
    "LIVE_RETRY_SECONDS": (
        "Seconds the API remembers that the minute-bar database failed, answering 503 at once "
        "instead of trying it again on every request; `0`: try on every request."
    ),
    "LIVE_MAX_THREADS": (
        "Most API threads reading the minute bars at once; a live-data request beyond them is "
        "answered 503 at once, so a slow database never holds the threads the forecasts need. Keep"
        " it below THREADS."
    ),
    "LIVE_MAX_ROWS": (
        "Most minute bars one `/candles/{asset}` answer built from the live minutes may read (a "
        "week is 10,080); a longer range is refused with 422 before it is read, and without "
        "`start` the last candles are as many as fit."
    ),
    "LIVE_CACHE_SECONDS": (
        "Seconds `/live` reuses its answer (all assets' minute windows, read in one query), "
        "and between the API's reads of the latest prices."
    ),
    "MINUTE_RETENTION_DAYS": (
        "Days of minute bars the market feed keeps per asset, counted back from the clock; older "
        "ones are pruned, and any minute missing within them is backfilled."
    ),
    "LOG_LEVEL": (
        "Logging level of the command-line tools: DEBUG, INFO, WARNING, ERROR or CRITICAL."
    ),
}


def setting(env: str, words: str = "", **checks: Any) -> msgspec.Meta:
    """A field's variable, its meaning and its checks (`ge`, `gt`, `le`, `pattern` with the
    values it allows in `words`, ...)."""
    return msgspec.Meta(description=MEANINGS[env], extra={"env": env, "words": words}, **checks)


@dataclass(frozen=True)
class Variable:
    env: str
    kind: type
    meta: msgspec.Meta
    default: object

    def expected(self) -> str:
        """In words: `a whole number, at least 1`."""
        kinds = {int: "a whole number", float: "a number", bool: "true or false (1 or 0)"}
        kinds |= {Path: "a path"}
        bounds = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
        limits = [
            f"{said} {getattr(self.meta, check)}"
            for check, said in bounds.items()
            if getattr(self.meta, check) is not None
        ]
        if self.meta.pattern is not None:
            limits.append((self.meta.extra or {})["words"])  # the values it allows, in words
        if self.meta.min_length:
            limits.append("not empty")
        kind = kinds.get(self.kind, "text")
        return f"{kind}, {' and '.join(limits)}" if limits else kind


def variables(section: type) -> dict[str, Variable]:
    """The variables `section` (or a process's) parses, by field name."""
    hints = typing.get_type_hints(section, include_extras=True)
    found = {}
    for spec in dataclasses.fields(section):
        hint = hints[spec.name]
        if typing.get_origin(hint) is not Annotated:  # `Annotated[T, setting(...)] | None`
            hint = next(a for a in typing.get_args(hint) if typing.get_origin(a) is Annotated)
        kind, meta = typing.get_args(hint)[:2]
        found[spec.name] = Variable(meta.extra["env"], kind, meta, spec.default)
    return found


@dataclass(frozen=True, kw_only=True)
class Section:
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The variables set and not blank, parsed (the others at their defaults); ConfigError."""
        environ = os.environ if environ is None else environ
        wanted = variables(cls)
        texts = {name: environ.get(each.env, "").strip() for name, each in wanted.items()}
        given = {name: text for name, text in texts.items() if text}  # blank: unset
        try:
            return msgspec.convert(given, cls, strict=False, dec_hook=lambda kind, text: kind(text))
        except msgspec.ValidationError as error:
            name = re.search(r"at `\$\.(\w+)`", str(error))
            if name is None:
                raise ConfigError(str(error)) from None
            bad = wanted[name.group(1)]
            raise ConfigError(
                f"{bad.env} must be {bad.expected()}, got {redact(given[name.group(1)])!r}"
            ) from None


@dataclass(frozen=True, kw_only=True)
class Source(Section):
    """How training's history sources are asked."""

    binance_api_url: Annotated[str, setting("BINANCE_API_URL")] = "https://api.binance.com"
    alpaca_data_url: Annotated[str, setting("ALPACA_DATA_URL")] = "https://data.alpaca.markets"
    http_connect_timeout: Annotated[float, setting("HTTP_CONNECT_TIMEOUT", gt=0)] = 5.0
    http_read_timeout: Annotated[float, setting("HTTP_READ_TIMEOUT", gt=0)] = 30.0
    http_attempts: Annotated[int, setting("HTTP_ATTEMPTS", ge=1)] = 4


@dataclass(frozen=True, kw_only=True)
class Keys(Section):
    """The data sources' keys: read where the sources are asked, never sent anywhere."""

    alpaca_api_key: Annotated[str, setting("ALPACA_API_KEY")] | None = field(
        default=None, repr=False
    )
    alpaca_secret_key: Annotated[str, setting("ALPACA_SECRET_KEY")] | None = field(
        default=None, repr=False
    )


@dataclass(frozen=True, kw_only=True)
class HistoryFetch(Section):
    """How training fetches and validates a pair's history."""

    cache_dir: Annotated[Path, setting("CRYPTOPREDICT_CACHE")] = Path(".cache/history")
    require_fresh_hours: Annotated[float, setting("REQUIRE_FRESH_HOURS", gt=0)] | None = None
    fetch_timeout: Annotated[float, setting("FETCH_TIMEOUT", gt=0)] = 300.0
    min_rows: Annotated[int, setting("MIN_ROWS", ge=1)] = 100


@dataclass(frozen=True, kw_only=True)
class Jumps(Section):
    """How far a bar may move from those before it: training's history, the live minutes."""

    max_bar_jump: Annotated[float, setting("MAX_BAR_JUMP", gt=1)] = 3.0


@dataclass(frozen=True, kw_only=True)
class Gate(Section):
    """The quality gate a backtested model must pass to be written."""

    gate_min_coverage: Annotated[float, setting("GATE_MIN_COVERAGE", ge=0, le=1)] = 0.6
    gate_max_coverage: Annotated[float, setting("GATE_MAX_COVERAGE", ge=0, le=1)] = 0.95
    gate_max_mape_ratio: Annotated[float, setting("GATE_MAX_MAPE_RATIO", gt=0)] = 3.0


@dataclass(frozen=True, kw_only=True)
class Pairs(Section):
    """The pairs trained and followed."""

    assets: Annotated[str, setting("ASSETS", min_length=1)] = "btc-usd,eth-usd"


@dataclass(frozen=True, kw_only=True)
class Models(Section):
    """Where the models are, and how far they reach: training writes them, the API serves them."""

    model_dir: Annotated[Path, setting("MODEL_DIR")] = Path("artifacts")
    max_horizon_days: Annotated[float, setting("MAX_HORIZON_DAYS", gt=0)] = 1096.0


@dataclass(frozen=True, kw_only=True)
class Training(Section):
    """How `train.py` runs: its cluster, what it records."""

    train_workers: Annotated[int, setting("TRAIN_WORKERS", ge=1)] | None = None
    dask_scheduler_address: Annotated[str, setting("DASK_SCHEDULER_ADDRESS")] | None = None
    dask_dashboard_address: Annotated[str, setting("DASK_DASHBOARD_ADDRESS")] = "127.0.0.1:0"
    model_version: Annotated[str, setting("MODEL_VERSION", min_length=1)] = "dev"
    git_sha: Annotated[str, setting("GIT_SHA")] | None = None
    track_record_afresh: Annotated[str, setting("TRACK_RECORD_AFRESH")] | None = None
    previous_image: Annotated[str, setting("PREVIOUS_IMAGE")] | None = None


@dataclass(frozen=True, kw_only=True)
class Server(Section):
    """How the API listens: its proxy on HOST:PORT, Waitress behind it (docs/operations.md)."""

    host: Annotated[str, setting("HOST")] = "127.0.0.1"
    port: Annotated[int, setting("PORT", ge=0, le=65535)] = 8080
    threads: Annotated[int, setting("THREADS", ge=1)] = 4
    max_connections_per_client: Annotated[int, setting("MAX_CONNECTIONS_PER_CLIENT", ge=0)] = 100
    client_ip_header: Annotated[str, setting("CLIENT_IP_HEADER", NAME, pattern=HEADER)] | None = (
        None
    )
    access_log: Annotated[bool, setting("ACCESS_LOG")] = False


@dataclass(frozen=True, kw_only=True)
class Api(Section):
    """What the API answers, and to whom."""

    cors_origins: Annotated[str, setting("CORS_ORIGINS")] = "*"
    forecast_max_points: Annotated[int, setting("FORECAST_MAX_POINTS", ge=1)] = 10000
    candles_max_points: Annotated[int, setting("CANDLES_MAX_POINTS", ge=1)] = 5000
    cache_seconds: Annotated[int, setting("CACHE_SECONDS", ge=0)] = 600
    poller_failing_after: Annotated[float, setting("POLLER_FAILING_AFTER", gt=0)] = 900.0
    stale_after_hours: Annotated[float, setting("STALE_AFTER_HOURS", gt=0)] = 12.0
    note_after_hours: Annotated[float, setting("NOTE_AFTER_HOURS", gt=0)] = 2.0


@dataclass(frozen=True, kw_only=True)
class Database(Section):
    """The market feed's database: the feed writes it, the API reads it."""

    database_url: Annotated[str, setting("DATABASE_URL", min_length=1)] = (
        "sqlite:///.cache/market.db"
    )


@dataclass(frozen=True, kw_only=True)
class LiveReads(Section):
    """How the API reads the minute bars, so that a slow database costs the rest nothing."""

    live_connect_timeout: Annotated[float, setting("LIVE_CONNECT_TIMEOUT", gt=0)] = 2.0
    live_statement_timeout: Annotated[float, setting("LIVE_STATEMENT_TIMEOUT", gt=0)] = 2.0
    live_retry_seconds: Annotated[float, setting("LIVE_RETRY_SECONDS", ge=0)] = 5.0
    live_max_threads: Annotated[int, setting("LIVE_MAX_THREADS", ge=1)] = 2
    live_max_rows: Annotated[int, setting("LIVE_MAX_ROWS", ge=1)] = 10000
    live_cache_seconds: Annotated[float, setting("LIVE_CACHE_SECONDS", ge=0)] = 5.0


@dataclass(frozen=True, kw_only=True)
class MarketFeed(Section):
    """What the market feed polls, and how long it keeps the live minutes."""

    latest_prices: (
        Annotated[str, setting("LATEST_PRICES", POLLED, pattern=LATEST_PRICES)] | None
    ) = None
    latest_price_seconds: Annotated[float, setting("LATEST_PRICE_SECONDS", ge=60)] = 60.0
    latest_price_timeout: Annotated[float, setting("LATEST_PRICE_TIMEOUT", gt=0)] = 5.0
    minute_retention_days: Annotated[float, setting("MINUTE_RETENTION_DAYS", gt=0)] = 30.0


@dataclass(frozen=True, kw_only=True)
class Logs(Section):
    """What the command-line tools log."""

    log_level: Annotated[str, setting("LOG_LEVEL", LEVELS, pattern=LOG_LEVEL)] = "INFO"


@dataclass(frozen=True, kw_only=True)
class TrainingSettings(Training, Gate, Pairs, Models, Logs, Source, HistoryFetch, Jumps):
    """`train.py`, the Dask client: its `Source`, `HistoryFetch` and `Jumps` go to the workers
    with each pair's job (`training/tasks.py`)."""


@dataclass(frozen=True, kw_only=True)
class WorkerSettings(Keys):
    """A Dask worker's own: the data sources' keys, which never travel with a task."""


@dataclass(frozen=True, kw_only=True)
class CollectorSettings(MarketFeed, Database, Pairs, Keys, Jumps, Logs):
    """`python -m cryptopredict.collect`: the market feed."""


@dataclass(frozen=True, kw_only=True)
class ApiSettings(Server, Api, Models, LiveReads, CollectorSettings):
    """`api.py` (and `create_app`), which runs the market feed beside it on SQLite."""


@dataclass(frozen=True, kw_only=True)
class HistorySettings(Source, HistoryFetch, Jumps, Keys):
    """What fetching and validating a history reads (`cryptopredict.data`): on a worker, the
    client's sections with the worker's own keys; the tools parse it whole."""


PROCESSES: dict[str, type[Section]] = {
    "API": ApiSettings,
    "training client": TrainingSettings,
    "Dask worker": WorkerSettings,
    "market feed": CollectorSettings,
}
SECTIONS = tuple(Section.__subclasses__())  # as declared above: each variable in one
