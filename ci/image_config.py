"""Check an image's configuration: `python -m ci.image_config INSPECT_JSON [--label K=V ...]`.

INSPECT_JSON is `buildah inspect --type image IMAGE` of a docker-format image. Checks that the
image runs as a non-root user, keeps its HEALTHCHECK, serves on 0.0.0.0:8080 with `python
api.py` (HAProxy in front of Waitress), and carries the OCI labels (with the given
values). `--print-user` and `--print-command` print the uid and the NUL-separated command
instead, for the shell.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OCI_LABELS = ("version", "revision", "created", "source")
COMMAND = ["python", "api.py"]


class ConfigError(Exception):
    """The image is configured in a way the deployment cannot use; the message says how."""


def docker_config(inspect: dict[str, Any]) -> dict[str, Any]:
    config = (inspect.get("Docker") or {}).get("config") or {}
    if not config:
        raise ConfigError("no Docker image config: build with --format docker")
    return config


def user_id(config: dict[str, Any]) -> int:
    user = str(config.get("User") or "")
    uid = user.split(":", 1)[0]
    if not uid.isdigit():
        raise ConfigError(
            f"USER is {user!r}: give a numeric uid (e.g. 10001:10001) so runtimes can verify "
            "it is not root"
        )
    if int(uid) == 0:
        raise ConfigError("USER is root (uid 0): the server must run as a non-root user")
    return int(uid)


def command(config: dict[str, Any]) -> list[str]:
    return [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]


def check(config: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """What holds, one line each; ConfigError on the first thing that does not."""
    uid = user_id(config)
    healthcheck = (config.get("Healthcheck") or {}).get("Test") or []
    if not healthcheck or healthcheck[0] not in ("CMD", "CMD-SHELL"):
        raise ConfigError("no HEALTHCHECK: it is kept only in docker-format images")
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    for name, wanted in (("HOST", "0.0.0.0"), ("PORT", "8080")):
        if env.get(name) != wanted:
            raise ConfigError(f"{name} is {env.get(name)!r}, expected {wanted!r}")
    if command(config) != COMMAND:
        raise ConfigError(f"the command is {command(config)}, expected {COMMAND}")
    found = config.get("Labels") or {}
    for name in OCI_LABELS:
        if not found.get(f"org.opencontainers.image.{name}"):
            raise ConfigError(f"label org.opencontainers.image.{name} is missing or empty")
    for name, wanted in labels.items():
        if found.get(name) != wanted:
            raise ConfigError(f"label {name} is {found.get(name)!r}, expected {wanted!r}")
    shown = ", ".join(f"{name.rsplit('.', 1)[1]}={value}" for name, value in labels.items())
    return [
        f"user: uid {uid} (non-root)",
        f"healthcheck: {' '.join(healthcheck[:3])} ...",
        f"serves: {' '.join(command(config))} on {env['HOST']}:{env['PORT']}",
        f"labels: {shown}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.image_config", description=__doc__)
    parser.add_argument("inspect", type=Path)
    parser.add_argument("--label", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--print-user", action="store_true")
    parser.add_argument("--print-command", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = docker_config(json.loads(args.inspect.read_text()))
        if args.print_user:
            print(user_id(config))
        elif args.print_command:
            print("\0".join(command(config)), end="\0")
        else:
            labels = dict(item.split("=", 1) for item in args.label)
            for line in check(config, labels):
                print(f"config: {line}")
    except ConfigError as error:
        print(f"config: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
