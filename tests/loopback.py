"""The test servers on loopback (`socketserver` servers run by `serve_forever` in a thread)."""

from __future__ import annotations

# `shutdown()` waits for the serving loop's next poll, every half second by default: half a
# second at the end of every test that starts a server (a minute over the suite).
POLL = {"poll_interval": 0.02}
