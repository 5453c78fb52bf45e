"""A real registry of our own: Debian's `docker-registry` (the CNCF distribution registry, which
GHCR's API follows), on a free port of 127.0.0.1, its storage in a temporary directory; and
release-shaped images pushed into it through the OCI distribution API as a build pushes them: a
layer, a config holding the labels, a manifest and an index naming it, tagged.

A private one (`private=True`) answers only a client that logs in, as GHCR does for a private
package: htpasswd authentication, user `USER` with the password `PASSWORD` (the workflow runner's
actor and job token), the bcrypt hash below made once for it (docker-registry reads only bcrypt).
`python -m tests.release.oci_registry` prints its htpasswd line (make image-test's registry)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.ports import free_port

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
USER = "octo"
PASSWORD = "ghs_scratch"
HTPASSWD = f"{USER}:$2b$05$cryptopredictregistryusoc0InySHzEirvuMbMapH1ms8xxOdYO"


class RegistryUnavailableError(Exception):
    """docker-registry is not installed (`make test` installs it as root)."""


class LocalRegistry:
    def __init__(self, *, private: bool = False) -> None:
        command = shutil.which("docker-registry")
        if command is None:
            raise RegistryUnavailableError(
                "docker-registry is not installed (Debian's docker-registry package; `make "
                "test` installs it when run as root)"
            )
        self.home = Path(tempfile.mkdtemp(prefix="cryptopredict-registry-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.private = private
        config = self.home / "config.yml"
        passwords = self.home / "htpasswd"
        passwords.write_text(f"{HTPASSWD}\n")
        auth = f"auth:\n  htpasswd:\n    realm: registry\n    path: {passwords}\n"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.home / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n" + auth * private
        )
        self.process = subprocess.Popen(
            [command, "serve", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.home / "log").open("wb"),
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"docker-registry did not start: {self.log()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/v2/", timeout=1) as answer:
                return bool(answer.status == 200)
        except urllib.error.HTTPError as error:
            return error.code == 401 and self.private
        except (urllib.error.URLError, ConnectionError):
            return False

    def log(self) -> str:
        return (self.home / "log").read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.home, ignore_errors=True)

    def _send(
        self, method: str, path: str, body: bytes = b"", kind: str = "", accept: str = ""
    ) -> tuple[bytes, dict]:
        request = urllib.request.Request(f"{self.url}{path}", data=body or None, method=method)
        if kind:
            request.add_header("Content-Type", kind)
        if accept:
            request.add_header("Accept", accept)
        if self.private:
            login = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            request.add_header("Authorization", f"Basic {login}")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read(), dict(answer.headers)

    def blob(self, name: str, data: bytes) -> str:
        digest = digest_of(data)
        _, headers = self._send("POST", f"/v2/{name}/blobs/uploads/")
        location = headers["Location"]
        location = location.removeprefix(self.url)
        joiner = "&" if "?" in location else "?"
        self._send("PUT", f"{location}{joiner}digest={digest}", data, "application/octet-stream")
        return digest

    def put_manifest(self, name: str, reference: str, document: dict, kind: str) -> str:
        """Push `document` under the tag `reference` ("": by its digest alone); its digest."""
        data = json.dumps(document).encode()
        digest = digest_of(data)
        self._send("PUT", f"/v2/{name}/manifests/{reference or digest}", data, kind)
        return digest

    def push(
        self,
        name: str,
        tags: list[str],
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        files: dict[str, bytes] | None = None,
    ) -> str:
        """A one-platform release-shaped image of `files` (one layer) under every tag of `tags`
        (its index annotated with `annotations`, as the release annotates it; no tag: by its
        digest alone, as a build pushes it): its index's digest."""
        blob = layer(files or {"app/api.py": f"# {name} {tags}\n".encode()})
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": labels or {}},
                "rootfs": {"type": "layers", "diff_ids": [digest_of(gzip.decompress(blob))]},
            }
        ).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": self.blob(name, config), "size": len(config)},
            "layers": [{"mediaType": LAYER, "digest": self.blob(name, blob), "size": len(blob)}],
        }
        index = {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {
                    "mediaType": MANIFEST,
                    "digest": self.put_manifest(name, "", manifest, MANIFEST),
                    "size": len(json.dumps(manifest).encode()),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
            **({"annotations": annotations} if annotations else {}),
        }
        for tag in tags or [""]:  # the same digest each time
            digest = self.put_manifest(name, tag, index, INDEX)
        return digest

    def tag(self, name: str, digest: str, tag: str) -> None:
        """Point `tag` at the index `digest`, as `docker buildx imagetools create` does."""
        index, _ = self._send("GET", f"/v2/{name}/manifests/{digest}", accept=INDEX)
        self._send("PUT", f"/v2/{name}/manifests/{tag}", index, INDEX)

    def delete(self, name: str, digest: str) -> None:
        """Delete the version `digest`, and with it every tag naming it (as GHCR deletes a
        package version)."""
        self._send("DELETE", f"/v2/{name}/manifests/{digest}")


def digest_of(data: bytes) -> str:
    """The digest a registry gives `data`."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def tarred(files: dict[str, bytes]) -> bytes:
    """A tar archive (PAX, as images' layers are) holding `files`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def layer(files: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar layer holding `files`."""
    return gzip.compress(tarred(files), mtime=0)


if __name__ == "__main__":
    print(HTPASSWD)
