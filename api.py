"""Serve the forecast API over HTTP: `python api.py` (settings from the environment, see README)."""

import sys

from cryptopredict.api.server import main

if __name__ == "__main__":
    sys.exit(main())
