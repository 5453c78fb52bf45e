"""Can Render pull the image? Ask the registry for its manifest anonymously, as Render would."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse

from tools.release.render import Answer, DeployError, get
from tools.release.retry import retried

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
REFUSED = (401, 403, 404)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class PrivatePackageError(DeployError):
    """The registry does not serve the image without credentials."""


class RegistryUnknownError(Exception):
    """The registry could not be asked; nothing is known of the package's visibility."""


def _get(url: str, headers: dict[str, str], timeout: float) -> Answer:
    answer = get(url, headers, timeout)
    if answer.status == 0:
        raise RegistryUnknownError(answer.body.decode())
    return answer


def authorization(challenge: str, timeout: float, credentials: str = "") -> str | None:
    """The `Authorization` header a 401's challenge asks for, or None."""
    scheme, _, parameters = challenge.partition(" ")
    basic = base64.b64encode(credentials.encode()).decode() if credentials else ""
    if scheme.lower() == "basic":
        return f"Basic {basic}" if basic else None
    if scheme.lower() != "bearer":
        return None
    fields = dict(_CHALLENGE.findall(parameters))
    realm = fields.pop("realm", "")
    if urllib.parse.urlsplit(realm).scheme not in ("https", "http"):
        return None
    headers = {"Authorization": f"Basic {basic}"} if basic else {}
    answer = _get(f"{realm}?{urllib.parse.urlencode(fields)}", headers, timeout)
    if answer.status in REFUSED:
        return None
    if answer.status != 200:
        raise RegistryUnknownError(f"its token service answered HTTP {answer.status}")
    try:
        document = json.loads(answer.body)
        token = document.get("token") or document.get("access_token")
    except (ValueError, AttributeError):
        raise RegistryUnknownError("its token service did not answer JSON") from None
    return f"Bearer {token}" if token else None


class Registry:
    """One repository of a registry, through the OCI distribution API."""

    def __init__(
        self, base_url: str, name: str, *, credentials: str = "", timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.credentials = credentials
        self.timeout = timeout
        self.authorization: str | None = None

    def get(self, path: str) -> Answer:
        """`path` under `/v2/<name>/` (or a `/v2/...` link), retried while transient."""
        return retried(lambda: self._get(path), _transient)

    def _get(self, path: str) -> Answer:
        url = f"{self.base_url}{path}" if path.startswith("/") else self.url(path)
        answer = _get(url, self._headers(), self.timeout)
        if answer.status == 401 and answer.challenge and self.authorization is None:
            asked = authorization(answer.challenge, self.timeout, self.credentials)
            self.authorization = asked or ""
            if asked:
                answer = _get(url, self._headers(), self.timeout)
        return answer

    def url(self, path: str) -> str:
        return f"{self.base_url}/v2/{self.name}/{path}"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": ACCEPT}
        if self.authorization:
            headers["Authorization"] = self.authorization
        return headers


def _transient(outcome: object) -> bool:
    if isinstance(outcome, Answer):
        return outcome.status == 429 or outcome.status >= 500
    return isinstance(outcome, RegistryUnknownError)


def registry_credential(blueprint: str) -> str | None:
    """The registry credential render.yaml's image is pulled with, if it names one."""
    found = re.search(r"fromRegistryCreds:\s*\n\s*name:\s*\"?([^\"\s]+)", blueprint)
    return found[1] if found else None


def check_pullable(image: str, digest: str, repository: str, *, base_url: str | None = None) -> str:
    """A line for the log when anyone may pull `image@digest`, else the error saying why not."""
    host, _, name = image.partition("/")
    status = Registry(base_url or f"https://{host}", name).get(f"manifests/{digest}").status
    if status == 200:
        return f"{image} is public: Render can pull {digest} without a credential"
    if status not in REFUSED:
        raise RegistryUnknownError(f"it answered HTTP {status} for the manifest")
    package = name.rsplit("/", 1)[-1]
    raise PrivatePackageError(
        f"Render cannot pull {image}@{digest}: the registry refuses the image to a client "
        f"without credentials (HTTP {status}), so the package's visibility is private, as every "
        "new GHCR package is. Render pulls without credentials, so the deploy would fail. "
        f"Either change the package's visibility to public (https://github.com/{repository}/"
        f"pkgs/container/{package} -> Package settings -> Danger Zone -> Change visibility -> "
        "Public), or give Render a registry credential (Workspace Settings -> Registry "
        "Credentials) and name it in render.yaml (the image's creds: fromRegistryCreds: name) "
        "(docs/release.md, 'Set it up on a fork'). Then re-run the failed jobs"
    )
