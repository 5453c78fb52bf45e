"""The release's Ed25519 deploy key, made in memory and sealed for GitHub's secrets API.

PyNaCl is imported only to make a key or seal a secret: the release jobs run on a bare Python.
"""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass

KEY_TYPE = b"ssh-ed25519"
COMMENT = "release tags (python -m tools.release setup)"


def _string(data: bytes) -> bytes:
    """SSH's `string`: a 32-bit length, then the bytes."""
    return struct.pack(">I", len(data)) + data


@dataclass(frozen=True, repr=False)
class DeployKey:
    public: str  # an authorized_keys line: `ssh-ed25519 AAAA... comment`
    private: str  # the OpenSSH private key file's text

    @classmethod
    def generate(cls, comment: str = COMMENT) -> DeployKey:
        from nacl.signing import SigningKey  # noqa: PLC0415 (see the module)

        signing = SigningKey.generate()
        public = bytes(signing.verify_key)
        blob = _string(KEY_TYPE) + _string(public)
        check = os.urandom(4)
        private = (
            check
            + check
            + _string(KEY_TYPE)
            + _string(public)
            + _string(bytes(signing) + public)
            + _string(comment.encode())
        )
        private += bytes(range(1, 1 + (-len(private) % 8)))  # padding to the cipher's block (8)
        document = (
            b"openssh-key-v1\0"
            + _string(b"none")
            + _string(b"none")
            + _string(b"")
            + struct.pack(">I", 1)
            + _string(blob)
            + _string(private)
        )
        encoded = base64.b64encode(document).decode()
        lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
        text = "\n".join(
            ["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----", ""]
        )
        return cls(f"{KEY_TYPE.decode()} {base64.b64encode(blob).decode()} {comment}", text)


def seal(value: str, public_key: str) -> str:
    """`value` sealed to GitHub's base64 `public_key`, base64-encoded, as its API takes it."""
    from nacl.public import PublicKey, SealedBox  # noqa: PLC0415 (see the module)

    box = SealedBox(PublicKey(base64.b64decode(public_key)))
    return base64.b64encode(box.encrypt(value.encode())).decode()
