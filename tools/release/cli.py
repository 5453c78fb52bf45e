"""`python -m tools.release`: the release workflow's decisions, one command each."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptopredict.artifact.record_format import READS, RECORD_VERSION
from tools.release import runs
from tools.release.github import GitHub, GitHubError
from tools.release.plan import check_publish, git, git_auth, live_tags, plan_run
from tools.release.previous import (
    PreviousImageError,
    find_previous,
    latest_staleness,
    restart_refused,
    verify,
)
from tools.release.registry import (
    Registry,
    RegistryUnknownError,
    check_pullable,
    registry_credential,
)
from tools.release.render import (
    DeployError,
    image_by_digest,
    staleness,
    trigger_deploy,
    wait_for_version,
)
from tools.release.retention import RetentionError, package_of, retain
from tools.release.rules import TAG_KEY_SECRET, check_rules
from tools.release.say import run_url, tell
from tools.release.setup import HOOK_SECRET, SERVICE_VARIABLE, Choices, set_up
from tools.release.tagging import create_tag
from tools.release.version import (
    Version,
    build_tag,
    created,
    image_name,
    read_index,
)

DEFAULT_FIRST_VERSION = "0.1.0"
# The release's default: BTC/USD and ETH/USD (from Alpaca) and the 200 spot pairs most traded
# against USDT on Binance, ranked when the image trains (`top:N`, cryptopredict/data/binance.py).
# The product's own default (`make run`, offline) stays the two embedded pairs.
DEFAULT_ASSETS = "top:200"
_SLUG = re.compile(r"[a-z0-9]+-[a-z0-9]+")
_TOP = re.compile(r"top:[1-9][0-9]{0,3}")
RUN = "run.json"  # cryptopredict.artifact.run.RUN
# What `setup` needs installed (docs/release.md, set-up step 2).
SETUP_INSTALL = (
    "`python3.11 -m venv .venv && .venv/bin/pip install --require-hashes -r requirements-setup.txt`"
)


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the command `argv` names with its own options (each command parses them)."""
    name, *argv = (sys.argv[1:] if argv is None else argv) or ["--help"]
    environ = os.environ if environ is None else environ
    if name not in COMMANDS:
        listed = "\n".join(  # each command's first words: `COMMAND --help` says the rest
            f"  {each:15} {re.split(r'[;:(]', _about(command))[0]}"
            for each, command in COMMANDS.items()
        )
        asked = name in ("-h", "--help")
        usage = f"usage: python -m tools.release COMMAND [--help]\n\n{__doc__}\n\n{listed}"
        print(usage, file=sys.stdout if asked else sys.stderr)
        return 0 if asked else 2
    try:
        said = COMMANDS[name](argv, environ)
    except (OSError, ValueError, DeployError, GitHubError, PreviousImageError) as error:
        print(f"error: {error}", file=sys.stderr)
        if environ.get("GITHUB_ACTIONS") == "true":
            # On the run's page too, not only in the step's log; escaped as the runner reads it.
            said = str(error).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            print(f"::error title=release {name}::{said}")
        return 1
    if isinstance(said, int):
        return said
    print(said, end="" if said.endswith("\n") else "\n")  # outputs, notes, render.yaml: as is
    return 0


def notes(argv: list[str], _: Mapping[str, str]) -> str:
    """What a release trained, in Markdown, from its run.json (ValueError when it is missing or
    unusable)."""
    parser = _parser(notes)
    parser.add_argument("--model-dir", type=Path, required=True, help="where run.json is")
    parser.add_argument("--tag", required=True, help="the release, e.g. v1.2.3")
    args = parser.parse_args(argv)
    file = Path(args.model_dir) / RUN
    try:
        return release_notes(json.loads(file.read_text()), args.tag)
    except FileNotFoundError:
        raise ValueError(f"{args.model_dir} holds no training record ({RUN})") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{file} is not a training record this reads: {error!r}") from None


def release_notes(run: dict[str, Any], tag: str) -> str:
    trained, failed, carried = run["trained"], run.get("failed", []), run.get("carried", [])
    lines = [
        f"## {tag}: {len(trained)} of {len(trained) + len(failed) + len(carried)} pairs trained",
        "",
        f"Asked for `{run['asked']}`; model {run['model_version']}, trained by "
        f"{_minute(run['finished_at'])} UTC.",
        "",
        f"Track record: extends {run['extends']}."
        if run.get("extends")
        else "Track record: starts with this release (its `track-record/` says why).",
        "",
    ]
    ranking = run.get("ranking")
    ranks = {pair["asset"]: pair for pair in ranking["pairs"]} if ranking else {}
    if ranking:
        lines += [
            f"`top:{ranking['asked']}` ranked {len(ranking['pairs'])} pairs by {ranking['by']}, "
            f"over the 24 hours to {_minute(ranking['as_of'])} UTC.",
            "",
        ]
    lines += ["| pair | served | rank | 24-hour quote volume |", "|---|---|---|---|"]
    served = dict.fromkeys(trained, "yes") | {pair["asset"]: "no" for pair in failed}
    for asset, said in (served | {pair["asset"]: "its previous model" for pair in carried}).items():
        ranked = ranks.get(asset)
        rank = f"{ranked['rank']}" if ranked else ""
        volume = f"{ranked['quote_volume']:,.0f}" if ranked else ""
        lines.append(f"| `{asset}` | {said} | {rank} | {volume} |")
    for pairs, why in ((failed, "Not served"), (carried, "Served from the previous release")):
        if pairs:
            lines += ["", f"{why}, because training failed:", ""]
            lines += [f"- `{pair['asset']}`: {pair['reason']}" for pair in pairs]
    if ranking and ranking.get("left_out"):
        lines += ["", "Traded more than the last pair ranked, but left out:", ""]
        lines += [f"- `{out['symbol']}`: {out['why']}" for out in ranking["left_out"]]
    return "\n".join(lines) + "\n"


def _minute(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def release_assets(text: str) -> str:
    """`text` as the canonical list of pairs (DEFAULT_ASSETS when blank); ValueError otherwise."""
    if not text.strip():
        return DEFAULT_ASSETS
    names = [part.strip().lower() for part in text.split(",")]
    wrong = [name for name in names if not (_SLUG.fullmatch(name) or _TOP.fullmatch(name))]
    if wrong:
        raise ValueError(
            f"RELEASE_ASSETS holds {', '.join(map(repr, wrong))}: expected comma-separated pairs "
            "named <base>-<quote>, such as btc-usd,eth-usd,sol-usd, or top:N (top:200: BTC/USD, "
            "ETH/USD and the 200 pairs most traded against USDT on Binance)"
        )
    if sum(bool(_TOP.fullmatch(name)) for name in names) > 1:
        raise ValueError(f"RELEASE_ASSETS holds more than one top:N: {text.strip()!r}")
    return ",".join(dict.fromkeys(names))


def rules(argv: list[str], environ: Mapping[str, str]) -> str:
    """Refuse unless the environments admit only the release's refs and the tag rulesets let the
    release alone create its tags (reads $GITHUB_TOKEN, $GITHUB_API_URL)."""
    parser = _parser(rules)
    parser.add_argument("--repository", help="owner/name (default: $GITHUB_REPOSITORY)")
    args = parser.parse_args(argv)
    github = GitHub.from_environ(environ, "checking the repository's rules", args.repository)
    return "\n".join(check_rules(github))


def make_tag(argv: list[str], environ: Mapping[str, str]) -> str:
    """Create the release tag on its commit, unless it names it already (reads $RELEASE_TAG_KEY,
    $GITHUB_TOKEN, $GITHUB_REPOSITORY, $GITHUB_API_URL, $GITHUB_SERVER_URL)."""
    parser = _parser(make_tag, "tag")
    parser.add_argument("--tag", required=True, help="vX.Y.Z")
    parser.add_argument("--sha", required=True, help="the commit the version job planned")
    args = parser.parse_args(argv)
    github = GitHub.from_environ(environ, "creating the release tag")
    return create_tag(args.tag, args.sha, github, key=environ.get(TAG_KEY_SECRET, ""))


def check_pull(argv: list[str], environ: Mapping[str, str]) -> str:
    """Refuse unless Render can pull the image: public (asked anonymously, of
    $RELEASE_REGISTRY_URL when set, else the image's registry), or pulled with a registry
    credential render.yaml names."""
    parser = _parser(check_pull)
    _pushed(parser)
    parser.add_argument("--repository", required=True, help=REPOSITORY)
    parser.add_argument("--blueprint", type=Path, help="render.yaml, naming a registry credential")
    args = parser.parse_args(argv)
    try:  # a registry credential render.yaml names
        credential = args.blueprint and registry_credential(args.blueprint.read_text())
    except OSError:
        credential = None
    if credential:
        return f"render.yaml pulls {args.image} with the registry credential {credential!r}"
    base_url = environ.get("RELEASE_REGISTRY_URL", "").strip() or None
    try:
        return check_pullable(args.image, args.digest, args.repository, base_url=base_url)
    except RegistryUnknownError as error:
        return (
            "::warning title=package visibility::the registry could not say whether Render can "
            f"pull {args.image} ({error}): deploying anyway"
        )


def next_version(argv: list[str], _: Mapping[str, str]) -> str:
    """Decide what this run does: the release tag to create, or the one to build."""
    parser = _parser(next_version)
    parser.add_argument("--ref", required=True, help="the run's git ref, as in GITHUB_REF")
    parser.add_argument("--head-message", default="", help="the head commit's message (on push)")
    parser.add_argument("--first-version", default="", help="with no release tag yet (0.1.0)")
    parser.add_argument("--repository", required=True, help=REPOSITORY)
    parser.add_argument("--built-at", type=_aware, help="UTC build time, ISO 8601 (default: now)")
    parser.add_argument("--assets", default="", help="RELEASE_ASSETS, the pairs (top:200)")
    args = parser.parse_args(argv)
    first = Version.parse(args.first_version or DEFAULT_FIRST_VERSION)
    assets = release_assets(args.assets)
    tags = git("tag", "--list").stdout.split()
    head = git("tag", "--points-at", "HEAD").stdout.split()
    plan = plan_run(args.ref, tags, head, args.head_message, first)
    if plan.tag:
        print(f"this run tests main's head and tags it {plan.tag}", file=sys.stderr)
    elif not plan.publish:
        print(f"{args.ref}: built and smoke-tested, nothing published", file=sys.stderr)
    built_at = args.built_at or datetime.now(UTC)
    return github_outputs(
        {
            "create-tag": plan.tag,
            "tag": plan.version.tag,
            "newest": plan.newest,
            "build": "true" if plan.build else "false",
            "publish": "true" if plan.publish else "false",
            "assets": assets,
            "version": str(plan.version),
            # Every run builds the commit it runs on: the provenance names it.
            "sha": git("rev-parse", "HEAD").stdout.strip(),
            "build-tag": build_tag(plan.version, built_at),
            "created": created(built_at),
            "image": image_name(args.repository),
            "record-format": str(RECORD_VERSION),  # the build's annotation
        }
    )


def _ghcr(image: str, environ: Mapping[str, str]) -> tuple[Registry, Callable[[], bool]]:
    """The registry `image` is in (or $RELEASE_REGISTRY_URL), asked with the job's token; and
    whether GitHub knows no package of that name, where the registry refuses (GHCR's answer for
    a package never pushed is undocumented: no package at all, then)."""
    host, _, name = image.partition("/")
    token, github = environ.get("GITHUB_TOKEN", ""), GitHub.from_environ(environ)
    actor = environ.get("GITHUB_ACTOR") or "x-access-token"
    credentials = f"{actor}:{token}" if token else ""
    registry = Registry(
        environ.get("RELEASE_REGISTRY_URL") or f"https://{host}", name, credentials=credentials
    )

    def unpublished() -> bool:
        package = package_of(github, image.rsplit("/", 1)[-1])
        return github.get_or_none(package, "packages: read") is None

    return registry, unpublished


def previous_image(argv: list[str], environ: Mapping[str, str]) -> str:
    """Find the release image this one extends, by digest, verified (reads $GITHUB_TOKEN for the
    registry, $RELEASE_REGISTRY_URL to ask another)."""
    parser = _parser(previous_image)
    parser.add_argument("--repository", required=True, help=REPOSITORY)
    parser.add_argument("--image", help=IMAGE)
    parser.add_argument("--start-anew", default="", help=START_ANEW)
    parser.add_argument("--summary", type=Path, help="append what was found, in Markdown, here")
    args = parser.parse_args(argv)
    image = args.image or image_name(args.repository)
    # One line, whatever the input held: it becomes a build argument among others.
    why = " ".join(args.start_anew.split())
    if why:
        said = f"starts the track record anew, as this run's input says: {why}"
        outputs = {"previous": "", "record-start": why}
    else:
        registry, unpublished = _ghcr(image, {**environ, "GITHUB_REPOSITORY": args.repository})
        found = find_previous(registry, image, unpublished)
        try:
            found.check_readable(READS)
        except PreviousImageError as error:
            _tell(environ, "record-format", str(error))
            raise
        if not found.digest:
            _refuse_a_restart_over_own_tags(args.repository, environ)
        said = found.why
        if found.digest:
            said += "; " + verify(found, args.repository, _gh)
        outputs = {"previous": found.reference, "record-start": "" if found.digest else found.why}
    print(f"this release {said}", file=sys.stderr)
    _tell(environ, "record-format", "")
    if args.summary is not None:
        with args.summary.open("a") as summary:
            summary.write(f"**Track record**: this release {said}.\n")
    return github_outputs(outputs)


def retention(argv: list[str], environ: Mapping[str, str]) -> int:
    """Delete the package versions the retention rule does not keep; never fails (every failure
    is a warning), and deletes nothing when a call goes unanswered (reads $GITHUB_TOKEN,
    $GITHUB_API_URL, $RELEASE_REGISTRY_URL)."""
    parser = _parser(retention)
    parser.add_argument("--repository", required=True, help=REPOSITORY)
    parser.add_argument("--image", help=IMAGE)
    parser.add_argument("--service-url", default="", help="production's: what it serves is kept")
    parser.add_argument("--keep-days", type=float, default=7.0, help="keep what these days pushed")
    parser.add_argument("--max-deletions", type=int, default=100, help="at most, oldest first")
    args = parser.parse_args(argv)
    image = args.image or image_name(args.repository)
    github = GitHub.from_environ(environ, repository=args.repository)
    try:
        said, needs_owner = retain(
            github,
            package_of(github, image.rsplit("/", 1)[-1]),
            _ghcr(image, environ)[0],
            since=datetime.now(UTC) - timedelta(days=args.keep_days),
            service_url=args.service_url,
            limit=args.max_deletions,
        )
    except (GitHubError, RegistryUnknownError, RetentionError, DeployError) as error:
        print(f"::warning title=retention::nothing was deleted from {image} this run: {error}")
    else:
        print("\n".join(said))
        _tell(environ, "retention", needs_owner)
    return 0


def _tell(environ: Mapping[str, str], topic: str, text: str) -> None:
    """In a job, say `topic` in the job summary and the one issue (healed: `text` empty)."""
    if environ.get("GITHUB_ACTIONS") == "true":
        print(tell(environ, topic, text), file=sys.stderr)


def _gh(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """gh's answer, or subprocess.TimeoutExpired after $RELEASE_GH_TIMEOUT seconds (60)."""
    timeout = float(os.environ.get("RELEASE_GH_TIMEOUT") or 60)
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)


def run_setup(argv: list[str], environ: Mapping[str, str]) -> int:
    """Check every setting the releases need (environments, rulesets, deploy key and its secret,
    the deploy hook, package visibility, Pages, the schedule), then make or correct each one a
    token can, through GitHub's API with your token ($GITHUB_TOKEN, else `gh auth token`): each
    change said before it is made, each left by hand named with its fix; exits 1 while one is."""
    parser = _parser(run_setup, "setup")
    parser.add_argument("--repository", required=True, help="owner/name of your fork")
    parser.add_argument("--dry-run", action="store_true", help="check and say the changes only")
    render = parser.add_mutually_exclusive_group()
    render.add_argument("--render-service-url", help=f"Render's service (${HOOK_SECRET}: asked)")
    render.add_argument("--no-render", action="store_true", help="deploy nowhere")
    parser.add_argument("--no-pages", action="store_true", help="disable the docs workflow")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds, at most (300)")
    args = parser.parse_args(argv)
    if not args.dry_run and not all(map(importlib.util.find_spec, ("cryptography", "nacl"))):
        raise ValueError(
            "setup makes the deploy key with cryptography and seals the secrets with PyNaCl: in "
            f"the clone {SETUP_INSTALL}, then run it with .venv/bin/python (docs/release.md, 'Set "
            "it up on a fork', step 2); --dry-run needs nothing but Python"
        )
    token = environ.get("GITHUB_TOKEN", "").strip()
    with contextlib.suppress(FileNotFoundError):  # else the GitHub CLI's, where gh is installed
        token = token or _gh(["gh", "auth", "token"]).stdout.strip()
    if not token:
        raise ValueError(
            "setup needs your token: GITHUB_TOKEN, or the GitHub CLI (gh, https://cli.github.com) "
            "logged in: `gh auth login`"
        )
    fix = "run setup with a token of an administrator of the repository"
    github = GitHub.from_environ(environ, repository=args.repository, token=token, fix=fix)
    print(
        f"asking {github.api_url} about {args.repository} for {args.timeout:g} s at most "
        "(--timeout); a call it does not answer is tried again, each try said here",
        file=sys.stderr,
    )

    def late(*_: object) -> None:  # SystemExit: no `except Exception` takes it for GitHub's
        raise SystemExit(
            f"error: {github.api_url} did not answer within {args.timeout:g} s (--timeout): "
            "check this machine's network, its proxy (HTTPS_PROXY) and GITHUB_API_URL, then run "
            "it again: what it changed is kept, and it goes on from there"
        )

    def hook() -> str:  # the owner typing is no wait for GitHub
        signal.setitimer(signal.ITIMER_REAL, 0)
        return getpass.getpass(f"Render's deploy hook ({HOOK_SECRET}): ")

    signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    choices = Choices(
        render_url=args.render_service_url,
        render_off=args.no_render,
        pages=not args.no_pages,
        hook=lambda: environ.get(HOOK_SECRET, "") or hook(),
    )
    try:
        return set_up(github, choices, dry_run=args.dry_run)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def say(argv: list[str], environ: Mapping[str, str]) -> str:
    """Say a topic that needs the owner in the job summary and the one repository issue labelled
    release-attention (closed once every topic healed); reads $GITHUB_TOKEN,
    $GITHUB_REPOSITORY, $GITHUB_STEP_SUMMARY; never fails."""
    parser = _parser(say)
    parser.add_argument("--topic", required=True, type=_topic, help="a slug: audit, retention")
    said = parser.add_mutually_exclusive_group(required=True)
    said.add_argument("--text", help="what needs the owner, in Markdown (empty: healed)")
    said.add_argument("--text-file", type=Path, help="the same, from a file")
    said.add_argument("--healed", action="store_true", help="it needs the owner no more")
    args = parser.parse_args(argv)
    text = args.text_file.read_text() if args.text_file is not None else args.text or ""
    return tell(environ, args.topic, text)


def production(argv: list[str], environ: Mapping[str, str]) -> int:
    """Say production serving stale data or not answering (with no deploy: the image `latest`
    names), whatever the cause, in the one issue with the runs that failed since its newest bar,
    or heal it once it serves fresh data; and this run's attestation or deploy failing (the image
    not published, or production behind `latest`) at once, healed by one that succeeds (reads
    $GITHUB_TOKEN, $GITHUB_REPOSITORY)."""
    parser = _parser(production)
    parser.add_argument("--service-url", default="", help="its /healthz (empty: latest's index)")
    parser.add_argument("--attest", default="", help="this run's attest job's result")
    parser.add_argument("--deploy", default="", help="this run's deploy job's result")
    args = parser.parse_args(argv)
    for topic, result, failed in (
        ("attestation", args.attest, NOT_ATTESTED),
        ("production-not-updated", args.deploy, NOT_UPDATED),
    ):
        if result in ("success", "failure"):
            _tell(
                environ, topic, failed.format(run=run_url(environ)) if result == "failure" else ""
            )
    image = image_name(environ.get("GITHUB_REPOSITORY", ""))
    why, since = (
        staleness(args.service_url)
        if args.service_url
        else latest_staleness(image, *_ghcr(image, environ))
    )
    if why:
        print(f"::error title=production stale::{why}", file=sys.stderr)
        github = GitHub.from_environ(environ, "production")
        why = f"{why}.\n\n{runs.failed_since(github, since)}.\n\n{STALE_FIX}"
    _tell(environ, "production-stale", why)
    return 0


def dispatch(argv: list[str], environ: Mapping[str, str]) -> str:
    """Start the release on the newest release tag and wait for its run, failing naming its first
    failed job and its last words where it did not succeed: the run waiting, the owner's, fails
    with it, and GitHub mails its actor (reads $GITHUB_TOKEN, $GITHUB_REPOSITORY)."""
    parser = _parser(dispatch)
    parser.add_argument("--tag", required=True, help="the release tag to build, vX.Y.Z")
    parser.add_argument("--start-anew", default="", help=START_ANEW)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between asks")
    args = parser.parse_args(argv)
    github = GitHub.from_environ(environ, "starting the release")
    run = runs.start(github, args.tag, {"start-anew": args.start_anew})
    print(f"the release of {args.tag} started: {run.get('html_url')}", file=sys.stderr)
    return runs.wait(github, int(run["workflow_run_id"]), args.interval)


def keepalive(argv: list[str], environ: Mapping[str, str]) -> str:
    """Keep the schedule on: enable the release workflow while it is active, so that GitHub's 60
    days without activity count from now (reads $GITHUB_TOKEN, $GITHUB_REPOSITORY)."""
    _parser(keepalive).parse_args(argv)
    return runs.keep_alive(GitHub.from_environ(environ, "keeping the schedule on"))


NOT_ATTESTED = (
    "This run's image could not be attested ({run}): its attest job failed three times, 30 and "
    "90 s apart (Sigstore or GitHub's attestations failing: their words are on the run's page), "
    "so nothing was published and production keeps the previous release. Nothing to do: the next "
    "scheduled run rebuilds and attests the newest release, and this goes once one is attested; "
    "if it stays a day, check https://www.githubstatus.com, then run the release by hand"
)
NOT_UPDATED = (
    "This run's deploy failed ({run}): production serves the image before the one `latest` "
    "names. Read its deploy job's first error: a hook Render refuses (HTTP 401, 403 or 404) is "
    "regenerated (Settings -> Deploy Hook) into RENDER_DEPLOY_HOOK_URL; then run the release by "
    "hand on main (a re-run of this run's deploy would deploy its image even after a newer one)"
)
STALE_FIX = (
    "What to do: read each run's first failed job; where it says re-run, re-run it; where it "
    "names a fix (the deploy hook, a token, a package version), make it, then run the release "
    "by hand (Actions -> release -> Run workflow); where no run failed, check the schedule and "
    "the service on Render's dashboard. This goes once a deploy serves fresh data"
)


def _refuse_a_restart_over_own_tags(repository: str, environ: Mapping[str, str]) -> None:
    """PreviousImageError when the registry is empty although own release tags exist, this
    run's aside."""
    this = environ.get("GITHUB_REF", "").removeprefix("refs/tags/")
    listed = git(
        "for-each-ref", "--format=%(refname:strip=2) %(*objectname) %(objectname)", "refs/tags"
    )
    tags = {  # each tag's commit: an annotated tag's peeled, else the one it names
        version: line.split()[1]
        for line in listed.stdout.splitlines()
        if (version := Version.from_tag(line.split()[0])) and version.tag != this
    }
    github = GitHub.from_environ(environ, repository=repository)
    why = restart_refused(github, image_name(repository), tags)
    if why:
        raise PreviousImageError(why)


def publish_check(argv: list[str], environ: Mapping[str, str]) -> str:
    """The one guard before the image tags move: refuse unless --tag is the newest release tag on
    the remote and no newer build is `latest` (reads $GITHUB_TOKEN)."""
    parser = _parser(publish_check, "check-publish")
    parser.add_argument("--tag", required=True, help="the release tag built, vX.Y.Z")
    parser.add_argument("--created", required=True, type=_aware, help="the version job's time")
    parser.add_argument("--latest-index", type=Path, required=True, help="latest's, as it is")
    args = parser.parse_args(argv)
    latest = read_index(args.latest_index.read_text())
    said = check_publish(args.tag, live_tags(git_auth(environ)), args.created, latest)
    print(said, file=sys.stderr)
    return github_outputs({"published": "true"})


def deploy(argv: list[str], environ: Mapping[str, str]) -> str:
    """Deploy on Render with $RENDER_DEPLOY_HOOK_URL, then poll $RENDER_SERVICE_URL/healthz."""
    parser = _parser(deploy)
    _pushed(parser)
    parser.add_argument("--model-version", required=True, help="what /healthz must report")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between polls")
    parser.add_argument("--tries", type=int, default=3, choices=range(1, 11), help="hook calls")
    args = parser.parse_args(argv)
    hook = environ.get(HOOK_SECRET, "").strip()
    service = environ.get(SERVICE_VARIABLE, "").strip().rstrip("/")
    image_ref = image_by_digest(args.image, args.digest)
    if not hook:
        raise DeployError(
            f"{HOOK_SECRET} is not readable here: nothing was deployed. Add the secret (the "
            "service's Settings -> Deploy Hook on Render) to the production environment "
            "(docs/release.md, 'Set it up on a fork')"
        )
    if not service:
        raise DeployError(
            f"{HOOK_SECRET} is set but the repository variable {SERVICE_VARIABLE} is not, so the "
            "deploy could not be verified; set it to the service's URL (https://<name>.onrender.com)"
        )
    health = f"{service}/healthz"
    for left in reversed(range(args.tries)):  # Render may keep the old image
        print(f"Render deploy {trigger_deploy(hook, image_ref)} started for {image_ref}")
        try:
            attempts = wait_for_version(
                health, args.model_version, timeout=args.timeout, interval=args.interval
            )
            break
        except DeployError as error:
            if not left:
                raise
            print(f"::warning title=deploy::{error} The deploy hook again ({left} left).")
    return f"{health} reports model version {args.model_version} ({attempts} polls)"


def github_outputs(values: Mapping[str, str]) -> str:
    """`name=value` lines for $GITHUB_OUTPUT; ValueError for a value of more than one line (each
    output the release writes is one line, and a second could set another output)."""
    if lines := [name for name, value in values.items() if "\n" in value]:
        raise ValueError(f"output {lines[0]} holds more than one line")
    return "".join(f"{name}={value}\n" for name, value in values.items())


def _topic(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a topic: lower-case words and dashes")
    return text


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z or +00:00")
    return moment


# What a command says on standard output (exit status 0), or its exit status.
Command = Callable[[list[str], Mapping[str, str]], str | int]
REPOSITORY = "owner/name, as in GITHUB_REPOSITORY"
IMAGE = "registry/owner/name (default: ghcr.io/<repository>)"
START_ANEW = "the run's input start-anew: why the track record starts anew, no previous image read"


def _parser(command: Command, name: str = "") -> argparse.ArgumentParser:
    """The parser of `command` (`name`, else the function's), described by its docstring."""
    name = name or command.__name__.replace("_", "-")
    return argparse.ArgumentParser(
        prog=f"python -m tools.release {name}", description=_about(command)
    )


def _about(command: Command) -> str:
    return " ".join((command.__doc__ or "").split())


def _pushed(parser: argparse.ArgumentParser) -> None:
    """The options naming a pushed image: its repository and digest."""
    parser.add_argument("--image", required=True, help="registry/owner/name, without a tag")
    parser.add_argument("--digest", required=True, help="sha256:... of the pushed image")


COMMANDS: dict[str, Command] = {
    "next-version": next_version,
    "previous-image": previous_image,
    "retention": retention,
    "check-publish": publish_check,
    "rules": rules,
    "tag": make_tag,
    "check-pull": check_pull,
    "production": production,
    "dispatch": dispatch,
    "keepalive": keepalive,
    "setup": run_setup,
    "say": say,
    "deploy": deploy,
    "notes": notes,
}
