"""Serve the forecast API over HTTP, with the market feed beside it: `python api.py` (settings
from the environment, see README)."""

import sys

from cryptopredict.api.server import main
from cryptopredict.collect.cli import beside_the_api

if __name__ == "__main__":
    sys.exit(main(beside=beside_the_api))
