"""The pairs a release trains: the `RELEASE_ASSETS` repository variable, checked before it
becomes the image's `ASSETS` build argument."""

from __future__ import annotations

import re

# The product's own default (`ASSETS` in cryptopredict/config.py; a test keeps them equal),
# written out so that the build's provenance records what was trained.
DEFAULT_ASSETS = "btc-usd,eth-usd"
_SLUG = re.compile(r"[a-z0-9]+-[a-z0-9]+")


def release_assets(text: str) -> str:
    """`text` (comma-separated `<base>-<quote>` slugs, any case and spacing) as the canonical
    list, or DEFAULT_ASSETS when it is blank; ValueError naming what is not a slug. Whether a
    source knows each pair is for training to say: this only keeps a malformed value (a newline
    would add a build argument of its own) out of the build."""
    if not text.strip():
        return DEFAULT_ASSETS
    slugs = [part.strip().lower() for part in text.split(",")]
    wrong = [slug for slug in slugs if not _SLUG.fullmatch(slug)]
    if wrong:
        raise ValueError(
            f"RELEASE_ASSETS holds {', '.join(map(repr, wrong))}: expected comma-separated pairs "
            "named <base>-<quote>, such as btc-usd,eth-usd,sol-usd"
        )
    return ",".join(dict.fromkeys(slugs))
