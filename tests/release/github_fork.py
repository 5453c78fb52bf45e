"""A fork on GitHub as its REST API keeps it: a bare repository (a personal account's or an
organisation's) whose settings `python -m tools.release setup` reads and makes (with gh), each
endpoint answering in the shape GitHub documents ("Get an environment", "List deployment branch
policies", "Get an environment public key", "Create or update an environment secret", "Create a
deploy key", "Create a repository ruleset", "List repository variables", "Create a GitHub Pages
site", "Create a workflow dispatch event", "List workflow runs for a workflow", "Get a workflow
run", "List jobs for a workflow run", "List check run annotations", ...), every list paged.
Secrets are sealed boxes to a real key pair, opened here as GitHub would; a secret whose value
is not a sealed box of that key is refused (HTTP 422).

Its workflows do not run until its owner enables them in its Actions tab: "Workflows don't run in
forked repositories by default. You must enable GitHub Actions in the Actions tab of the forked
repository" ("Events that trigger workflows", Workflows in forked repositories:
https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows;
the fork's banner, github/docs#15761: "Workflows aren't being run on this forked repository ...
I understand my workflows, go ahead and enable them"). Meanwhile "Enable a workflow" changes
nothing, and a dispatch is refused (HTTP 422); `press_the_button()` is the owner's click. And its
scheduled workflow, the release, is off ("When a public repository is forked, scheduled workflows
are disabled by default", "Disabling and enabling a workflow"): `disabled_fork` until enabled,
running nothing, a schedule included (`scheduled()`).

`Fork.set_up()` is the fork as setup leaves it (Render and Pages on), each committed setting held
as GitHub keeps it; asked with a job's token (`job_token`), GitHub shows no ruleset's bypass list
and no deploy key or environment secret (HTTP 403). FAKE_SSH is its SSH endpoint as git meets
it: GitHub's host key (HOST_KEY, as /meta lists it) checked strictly, the deploy key TAG_KEY's
push let through."""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from tests.release.github_issues import Issues, paged
from tools.release.rules import ENVIRONMENTS, POLICIES, setting
from tools.release.say import LABEL

SERVICE = "https://cryptopredict.onrender.com"  # Render's, once set up
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIScratchHostKeyOfGitHub"
# The deploy key a fork set up as documented holds (its secret RELEASE_TAG_KEY).
TAG_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nscratch-deploy-key\n-----END OPENSSH PRIVATE KEY-----"
)
# OpenSSH as git runs it for `git@github.com:octo/cryptopredict.git`: the host's key must be in
# the known hosts file it is told to use, strictly; the key it offers must be the deploy key.
FAKE_SSH = """#!/usr/bin/env bash
echo "ssh $*" >>"$FAKE_LOG"
key= known= strict=
while [ $# -gt 0 ]; do
    case "$1" in
        -i) key=$2; shift 2 ;;
        -o) case "$2" in
                UserKnownHostsFile=*) known=${2#*=} ;;
                StrictHostKeyChecking=*) strict=${2#*=} ;;
            esac
            shift 2 ;;
        -F|-p|-l) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
host=${1#git@}; shift
if [ "$strict" != yes ] || ! grep -qxF "$host $FAKE_HOST_KEY" "$known"; then
    echo "Host key verification failed." >&2; exit 255
fi
if [ "$(cat "$key")" != "$FAKE_TAG_KEY" ]; then
    echo "git@$host: Permission denied (publickey)." >&2; exit 255
fi
case "$*" in
    "git-upload-pack 'octo/cryptopredict.git'") exec git upload-pack "$FAKE_REMOTE" ;;
    "git-receive-pack 'octo/cryptopredict.git'") git receive-pack "$FAKE_REMOTE" || exit ;;
    *) exit 1 ;;
esac
if [ -n "${MONTH_URL:-}" ] && python -m tests.release.month_tools lost "tag push"; then
    echo "Connection to $host closed by remote host." >&2; exit 255  # pushed, its answer lost
fi
"""
NOT_SHOWN = {"message": "Resource not accessible by integration", "status": "403"}  # to a job
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
# GitHub's answers of a server error, as it gives them: its statuses and bodies (a 502, its page).
SERVER_ERRORS = (
    (500, b'{"message": "Server Error"}'),
    (502, b"<!DOCTYPE html><html><head><title>Unicorn! &middot; GitHub</title>"),
    (503, b'{"message": "Service Unavailable"}'),
    (504, b'{"message": "We couldn\'t respond to your request in time. Sorry about that."}'),
)
LIMITED = {"message": "API rate limit exceeded for installation ID 1."}  # a 403's or a 429's
# What GitHub answers a dispatch of a workflow that may not run (docs: "Create a workflow dispatch
# event", https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event).
NOT_RUN = {"message": "Actions has been disabled for this repository.", "status": "422"}


# What a request gets: the HTTP status and the body.
Answer = tuple  # (status, body), or with headers


def blueprint(owner: str, credential: str = "") -> str:
    """render.yaml as a fork of `owner` holds it: its image the fork's, pulled with the registry
    credential `credential` ("": none, the package public)."""
    text = (Path(__file__).resolve().parents[2] / "render.yaml").read_text()
    image = f'      url: "ghcr.io/{owner}/cryptopredict:latest"\n'
    creds = f"      creds:\n        fromRegistryCreds:\n          name: {credential}\n"
    return text.replace("owner.invalid", owner).replace(image, image + creds * bool(credential))


def _now() -> str:
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"


def as_json(status: int, document: Any = None) -> Answer:
    return status, b"" if document is None else json.dumps(document).encode()


@dataclass
class Fork:
    """octo/cryptopredict, bare: its Actions not yet enabled by its owner, nothing else set."""

    owner_type: str = "User"
    repository: str = "octo/cryptopredict"
    actions_on: bool = False  # the owner pressed the Actions tab's button
    workflows: dict[str, str] = field(
        default_factory=lambda: {"release.yml": "disabled_fork", "docs.yml": "active"}
    )
    enabled_at: str = ""  # when release.yml was last enabled (its `updated_at`)
    runs: list[dict[str, Any]] = field(default_factory=list)  # the release's, newest first
    ends: tuple | None = None  # how a run a dispatch starts ends, at once: ran()'s (a test's)
    # Each run's jobs, by its id: (name, conclusion, its error annotations).
    jobs: dict[int, list[tuple[str, str, list[str]]]] = field(default_factory=dict)
    host: str = ""  # where the server answers, for the Link to a list's next page
    issues: Issues = field(default_factory=Issues)  # its issues and labels
    # Each environment by name: its settings, deployment policies and secrets (name: opened).
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    repository_secrets: dict[str, str] = field(default_factory=dict)
    keys: list[dict[str, Any]] = field(default_factory=list)
    rulesets: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    pages: dict[str, Any] | None = None
    dependabot: set[str] = field(default_factory=set)  # alerts, security updates: what is on
    has_issues: bool = False  # Issues, off on a fork
    about: dict[str, Any] = field(default_factory=dict)  # more of "Get a repository"'s answer
    package: dict[str, Any] | None = None  # "Get a package for a user" (None: never pushed)
    files: dict[str, str] = field(default_factory=dict)  # main's, by path (render.yaml)
    tags: list[dict[str, Any]] = field(default_factory=list)  # "List matching references"
    job_token: bool = False  # asked with a job's token: no bypass list, deploy key or secret
    host_keys: list[str] = field(default_factory=lambda: [HOST_KEY])  # GitHub's SSH host's, /meta
    writes: list[tuple[str, str]] = field(default_factory=list)  # every change made
    sealing: PrivateKey = field(default_factory=PrivateKey.generate)
    _ids: int = 100
    _path: str = ""  # the request's path
    _asked: str = ""  # and with its query

    @classmethod
    def set_up(cls, **changes: Any) -> Fork:
        """The fork as setup leaves it, Render and Pages on, its package public; but `changes`."""
        fork = cls(actions_on=True, has_issues=True, pages={"build_type": "workflow"})
        fork.workflows["release.yml"], fork.enabled_at = "active", _now()
        fork.dependabot = {"alerts", "updates"}
        fork.issues.labels.add(LABEL)
        for name in ENVIRONMENTS:
            policies = [{"id": fork._id(), **p} for p in setting(f"environments/{name}/{POLICIES}")]
            settings = {"name": name, **setting(f"environments/{name}")}
            fork.environments[name] = {"settings": settings, "policies": policies, "secrets": {}}
        fork.secrets_in("release-tags")["RELEASE_TAG_KEY"] = "the deploy key's private half"
        fork.secrets_in("production")["RENDER_DEPLOY_HOOK_URL"] = "https://api.render.com/deploy"
        fork.rulesets = [
            {"id": fork._id(), "source_type": "Repository", **setting(f"rulesets/{file}")}
            for file in ("release-tags", "main")
        ]
        fork.keys = [{"id": fork._id(), "title": "release tags", "read_only": False}]
        fork.variables = {"RELEASE_REPOSITORY": fork.repository, "RENDER_SERVICE_URL": SERVICE}
        link = f"https://github.com/{fork.repository}/actions/runs/1"
        fork.runs = [{"id": 1, "event": "schedule", "html_url": link, "created_at": _now()}]
        linked = {"full_name": fork.repository}
        fork.package = {"name": "cryptopredict", "visibility": "public", "repository": linked}
        fork.files["render.yaml"] = blueprint(fork.owner)
        return replace(fork, **changes)

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    def handle(self, method: str, path: str, body: bytes) -> Answer | None:
        """The answer to a request of the fork or its issues (None: neither's)."""
        self.issues.host, self.issues.repository = self.host, self.repository
        issues = self.issues.handle(method, path, body)
        if issues is not None:
            return issues
        self._asked, path = path, path.partition("?")[0]
        base = f"/repos/{self.repository}"
        outside = self._outside(path)
        if outside is not None:
            return outside
        if not path.startswith(base):
            return None
        document = json.loads(body) if body else {}
        if method != "GET":
            self.writes.append((method, path))
        if path == base:
            self.has_issues = document.get("has_issues", self.has_issues)  # PATCH
            owner = {"login": self.owner, "type": self.owner_type}
            about = {"id": 1296269, "full_name": self.repository, "owner": owner}
            about |= {"visibility": "public", "private": False, **self.about}
            return as_json(200, {**about, "has_issues": self.has_issues})
        self._path = path
        answer = self._repository(method, path.removeprefix(base), document)
        return as_json(404, NOT_FOUND) if answer is None else answer

    def _outside(self, path: str) -> Answer | None:
        """GitHub's answers of more than the repository: its owner, its package, /meta."""
        account = "orgs" if self.owner_type == "Organization" else "users"
        package = f"/{account}/{self.owner}/packages/container/{self.repository.split('/')[1]}"
        answers = {
            package: (404, NOT_FOUND) if self.package is None else (200, self.package),
            f"/users/{self.owner}": (200, {"login": self.owner, "type": self.owner_type}),
            "/meta": (200, {"ssh_keys": self.host_keys}),  # "Get GitHub meta information"
        }
        return as_json(*answers[path]) if path in answers else None

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    def _repository(self, method: str, path: str, body: dict[str, Any]) -> Answer | None:
        parts = {
            "/actions/workflows": self._workflows,
            "/actions/runs/": self._run,
            "/check-runs/": self._annotations,
            "/environments/": self._environment,
            "/actions/secrets": lambda *asked: self._secrets(self.repository_secrets, *asked),
            "/keys": self._keys,
            "/rulesets": self._rulesets,
            "/actions/variables": self._variables,
            "/pages": self._pages,
            "/git/matching-refs/tags/": lambda *_: paged(self.tags, self._asked, self.host),
            "/git/ref/tags/": self._tag,
            "/contents/": self._contents,
            "/vulnerability-alerts": self._dependabot,
            "/automated-security-fixes": self._dependabot,
        }
        for prefix, part in parts.items():
            if path.startswith(prefix):
                return part(method, path.removeprefix(prefix), body)
        return None

    def _tag(self, _: str, tag: str, __: dict[str, Any]) -> Answer | None:
        """ "Get a reference": the tag `tag`."""
        return next((as_json(200, t) for t in self.tags if t["ref"] == f"refs/tags/{tag}"), None)

    def _contents(self, _: str, path: str, __: dict[str, Any]) -> Answer | None:
        if path not in self.files:
            return None
        content = base64.b64encode(self.files[path].encode()).decode()
        return as_json(200, {"name": path, "encoding": "base64", "content": content})

    def press_the_button(self) -> None:
        """The owner's click on 'I understand my workflows, go ahead and enable them'."""
        self.actions_on = True

    def _workflows(self, method: str, path: str, body: dict[str, Any]) -> Answer | None:
        name, _slash, action = path.removeprefix("/").partition("/")
        if action == "runs":  # of an `event`, a `branch`, a `status`, `created` since ">=WHEN"
            asked = dict(urllib.parse.parse_qsl(self._asked.partition("?")[2]))
            since = asked.get("created", "").removeprefix(">=")
            runs = [
                run
                for run in self.runs
                if asked.get("status") in (None, run.get("status"), run.get("conclusion"))
                and asked.get("event") in (None, run.get("event"))
                and asked.get("branch") in (None, run.get("head_branch"))
                and run.get("created_at", "") >= since
            ]
            return paged(runs, self._asked, self.host, "workflow_runs")
        if action == "dispatches":
            if not self.actions_on or self.workflows[name] != "active":
                return as_json(422, NOT_RUN)
            number = len(self.runs) + 1
            link = f"https://github.com/{self.repository}/actions/runs/{number}"
            run = {"id": number, "event": "workflow_dispatch", "html_url": link, **body}
            run |= {"head_branch": body["ref"], "status": "queued", "created_at": _now()}
            self.runs.insert(0, run)
            if self.ends:
                self.ran(number, *self.ends, **{k: v for k, v in run.items() if k != "status"})
            details = {"workflow_run_id": number, "run_url": link, "html_url": link}
            return as_json(200, details) if body.get("return_run_details") else as_json(204)
        if action == "enable" and (self.actions_on or self.workflows[name] == "disabled_manually"):
            self.workflows[name], self.enabled_at = "active", _now()  # not before the button
        if action == "disable":
            self.workflows[name] = "disabled_manually"
        if action:
            return as_json(204)
        state, path = self.workflows[name], f".github/workflows/{name}"
        return as_json(200, {"path": path, "state": state, "updated_at": self.enabled_at})

    def scheduled(self) -> bool:
        """Whether GitHub starts the release's scheduled runs."""
        return self.actions_on and self.workflows["release.yml"] == "active"

    def ran(self, number: int, conclusion: str, jobs: list | None = None, **more: Any) -> None:
        """A run of the release, the newest: completed with `conclusion`, its `jobs` as `jobs`
        holds them."""
        page = f"https://github.com/{self.repository}/actions/runs/{number}"
        run = {"id": number, "status": "completed", "conclusion": conclusion, "html_url": page}
        self.runs = [run | more, *(each for each in self.runs if each["id"] != number)]
        self.jobs[number] = jobs or []

    def _run(self, _: str, path: str, __: dict[str, Any]) -> Answer | None:
        """The run, or its jobs (a job's id: the run's a hundred times, and its number)."""
        number, _slash, jobs = path.partition("/")
        run = next((run for run in self.runs if str(run["id"]) == number), None)
        if run is None or not jobs:
            return None if run is None else as_json(200, run)
        held = enumerate(self.jobs.get(run["id"], []))
        listed = [{"id": run["id"] * 100 + k, "name": n, "conclusion": c} for k, (n, c, _) in held]
        return as_json(200, {"total_count": len(listed), "jobs": listed})

    def _annotations(self, _: str, path: str, __: dict[str, Any]) -> Answer:
        """A job's error annotations, GitHub's own "Process completed" first where it failed."""
        run, job = divmod(int(path.removesuffix("/annotations")), 100)
        _name, conclusion, said = self.jobs[run][job]
        said = ["Process completed with exit code 1."] * (conclusion == "failure") + said
        notes = [{"annotation_level": "failure", "message": message} for message in said]
        return paged(notes, self._asked, self.host)

    def _keys(self, method: str, path: str, body: dict[str, Any]) -> Answer | None:
        if method == "POST":
            key = {"id": self._id(), "verified": True, **body}
            self.keys.append(key)
            return as_json(201, key)
        if method == "DELETE":
            self.keys = [k for k in self.keys if f"/{k['id']}" != path]
            return as_json(204)
        return (
            as_json(403, NOT_SHOWN) if self.job_token else paged(self.keys, self._asked, self.host)
        )

    def _dependabot(self, method: str, _: str, __: dict[str, Any]) -> Answer | None:
        """Dependabot's alerts (`/vulnerability-alerts`: 204 on, 404 off) and its security
        updates (`/automated-security-fixes`: enabled or not), which need the alerts (422)."""
        what = "updates" if self._path.endswith("fixes") else "alerts"
        if method == "PUT":
            if what == "updates" and "alerts" not in self.dependabot:
                return as_json(422, {"message": "Vulnerability alerts are disabled."})
            self.dependabot.add(what)
            return as_json(204)
        if what == "updates":
            return as_json(200, {"enabled": what in self.dependabot, "paused": False})
        return as_json(204) if what in self.dependabot else None

    def _pages(self, method: str, _: str, body: dict[str, Any]) -> Answer | None:
        if method in ("POST", "PUT"):
            self.pages = {"build_type": body.get("build_type"), "status": None}
            return as_json(201 if method == "POST" else 204, self.pages)
        return None if self.pages is None else as_json(200, self.pages)

    def secrets_in(self, environment: str) -> dict[str, str]:
        return self.environments.get(environment, {}).get("secrets", {})

    def _environment(self, method: str, path: str, body: dict[str, Any]) -> Answer | None:
        name, _, path = path.partition("/")
        path = f"/{path}" if path else ""
        if path == "" and method == "PUT":
            held = self.environments.setdefault(name, {"policies": [], "secrets": {}})
            held["settings"] = {"name": name, **body}
            return as_json(200, held["settings"])
        if name not in self.environments:
            return None
        held = self.environments[name]
        if path.startswith("/deployment-branch-policies"):
            path = path.removeprefix("/deployment-branch-policies")
            return self._policies(held["policies"], method, path, body)
        if path.startswith("/secrets"):
            return self._secrets(held["secrets"], method, path.removeprefix("/secrets"), body)
        return as_json(200, held["settings"])

    def _policies(self, held: list, method: str, path: str, body: dict[str, Any]) -> Answer:
        if method == "DELETE":
            held[:] = [p for p in held if f"/{p['id']}" != path]
            return as_json(204)
        if method == "POST":
            policy = {"id": self._id(), **body}
            held.append(policy)
            return as_json(200, policy)
        return paged(held, self._asked, self.host, "branch_policies")

    def _secrets(self, held: dict, method: str, path: str, body: dict[str, Any]) -> Answer | None:
        if path == "/public-key":
            key = base64.b64encode(bytes(self.sealing.public_key)).decode()
            return as_json(200, {"key_id": "568250167242549743", "key": key})
        if path == "":
            if self.job_token:
                return as_json(403, NOT_SHOWN)
            return paged([{"name": n} for n in sorted(held)], self._asked, self.host, "secrets")
        name = path.removeprefix("/")
        if method == "DELETE":
            return as_json(204) if held.pop(name, None) else None
        created = name not in held  # "201: Response when creating a secret", an empty object
        try:
            sealed = base64.b64decode(body["encrypted_value"])
            held[name] = SealedBox(self.sealing).decrypt(sealed).decode()
        except (CryptoError, KeyError, ValueError):
            return as_json(422, {"message": "Bad request - encrypted_value"})
        return as_json(201, {}) if created else as_json(204)

    def _rulesets(self, method: str, path: str, body: dict[str, Any]) -> Answer | None:
        if path == "" and method == "POST":
            ruleset = {
                "id": self._id(),
                "source_type": "Repository",
                "source": self.repository,
                **body,
            }
            self.rulesets.append(ruleset)
            return as_json(201, ruleset)
        if path == "":
            listed = [
                {k: r[k] for k in ("id", "name", "target", "enforcement")} for r in self.rulesets
            ]
            return paged(listed, self._asked, self.host)
        [ruleset] = [r for r in self.rulesets if f"/{r['id']}" == path] or [None]
        if ruleset is None:
            return None
        if method == "PUT":
            ruleset.update(body)
        shown = {k: v for k, v in ruleset.items() if k != "bypass_actors" or not self.job_token}
        return as_json(200, shown)

    def _variables(self, method: str, path: str, body: dict[str, Any]) -> Answer | None:
        if path == "":
            if method == "POST":
                self.variables[body["name"]] = body["value"]
                return as_json(201, {})
            items = [{"name": n, "value": v} for n, v in sorted(self.variables.items())]
            return paged(items, self._asked, self.host, "variables")
        name = path.removeprefix("/")
        if name not in self.variables:
            return None
        if method == "DELETE":
            del self.variables[name]
        else:
            self.variables[name] = body["value"]
        return as_json(204)
