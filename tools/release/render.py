"""Deploy an image with Render's deploy hook (never printed); wait until the service serves it."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from tools.release.retry import retried

_DIGEST_REF = re.compile(r"[a-z0-9][a-z0-9._/-]*(:[0-9]+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}")
JSON = {"Accept": "application/json"}


@dataclass(frozen=True)
class Answer:
    """An HTTP answer; status 0, the reason its body, where nothing answered."""

    status: int
    challenge: str = ""  # a 401's WWW-Authenticate
    body: bytes = b""
    link: str = ""  # the Link header: where a listing goes on

    def __str__(self) -> str:
        """The status and the body's first 200 bytes, for a message."""
        status = f"HTTP {self.status}: " if self.status else "no answer: "
        return status + self.body[:200].decode(errors="replace")


def get(url: str, headers: dict[str, str], timeout: float, method: str = "GET") -> Answer:
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(
                response.status, body=response.read(), link=response.headers["Link"] or ""
            )
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get("WWW-Authenticate", ""), error.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return Answer(0, body=str(getattr(error, "reason", error)).encode())


class DeployError(Exception):
    """The deploy could not be triggered or did not come up; the message says what to check."""


def image_by_digest(image: str, digest: str) -> str:
    """`registry/owner/name@sha256:...`: deploy exactly the bytes that were pushed."""
    reference = f"{image}@{digest}"
    if not _DIGEST_REF.fullmatch(reference):
        raise DeployError(
            f"{reference!r} is not an image pinned by digest; "
            "expected registry/owner/name@sha256:<64 hex digits>"
        )
    return reference


def hook_with_image(hook_url: str, image_ref: str) -> str:
    """The deploy hook URL with `imgURL` set, keeping its own query (the deploy key)."""
    parts = urllib.parse.urlsplit(hook_url.strip())
    if not parts.hostname or (parts.scheme != "https" and parts.hostname != "127.0.0.1"):
        raise DeployError(  # a key sent in clear text is anyone's; 127.0.0.1: a local stand-in
            "RENDER_DEPLOY_HOOK_URL is not an https:// URL; copy it from the service's Settings "
            "(https://api.render.com/deploy/srv-...?key=...)"
        )
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "imgURL"]
    query.append(("imgURL", image_ref))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def trigger_deploy(hook_url: str, image_ref: str, *, timeout: float = 30.0) -> str:
    """POST the deploy hook; returns Render's deploy id when it names one."""
    answer = get(hook_with_image(hook_url, image_ref), {}, timeout, "POST")
    if answer.status == 0:
        raise DeployError(f"the Render deploy hook could not be reached ({answer.body.decode()})")
    if answer.status >= 400:
        regenerate = answer.status in (401, 403, 404)
        hint = " (regenerate the hook and update the secret)" if regenerate else ""
        raise DeployError(f"the Render deploy hook answered HTTP {answer.status}{hint}")
    try:
        return str(json.loads(answer.body)["deploy"]["id"])
    except (ValueError, KeyError, TypeError):
        return "unknown"


def model_version(body: bytes) -> str:
    """The model version a /healthz answer names ("": none, or not our /healthz)."""
    try:
        version = json.loads(body).get("model_version")
    except (ValueError, AttributeError):
        return ""
    return version if isinstance(version, str) else ""


def wait_for_version(
    health_url: str,
    version: str,
    *,
    timeout: float,
    interval: float = 15.0,
) -> int:
    """Poll `health_url` until it answers 200 naming `version`; returns the attempts it took."""
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        answer = get(health_url, JSON, 10.0)
        if answer.status == 200 and model_version(answer.body) == version:
            return attempts
        if time.monotonic() + interval > deadline:
            raise DeployError(
                f"{health_url} did not report model version {version} within {timeout:.0f} s "
                f"({attempts} attempts; last: {answer}). Check the deploy in the Render "
                "dashboard."
            )
        time.sleep(interval)


def served_version(service_url: str, *, timeout: float = 60.0) -> str:
    """The model version the service's /healthz names; DeployError when it names none."""
    url = f"{service_url.rstrip('/')}/healthz"
    answer = get(url, JSON, timeout)
    version = model_version(answer.body)
    if not version:
        raise DeployError(f"{url} named no model version ({answer})")
    return version


def staleness(service_url: str, *, timeout: float = 30.0) -> tuple[str, str]:
    """What production's /healthz says of its data: why it breaks the promise in a line ("": it
    keeps it), and when its newest bar closed ("": unsaid)."""
    url = f"{service_url.rstrip('/')}/healthz"
    # Render's free plan sleeps: the first ask wakes the service, which answers within a
    # minute; asked again while it does not (no answer, a 5xx) after each retry's delay.
    answer = retried(
        lambda: get(url, JSON, timeout), lambda a: not 0 < getattr(a, "status", 1) < 500
    )
    try:
        health = json.loads(answer.body) if answer.status == 200 else None
    except ValueError:
        health = None
    if not isinstance(health, dict):
        said = f"HTTP {answer.status}" if answer.status else "no answer"
        return f"production ({url}) does not answer ({said})", ""
    since = str(health.get("data_last") or "")
    if not health.get("stale"):
        return "", since
    hours = health.get("stale_after_hours")
    return (
        f"production ({url}) serves data older than its promise of {hours} hours "
        f"(STALE_AFTER_HOURS): {', '.join(map(str, health['stale']))}, newest bar {since}",
        since,
    )
