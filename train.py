"""Fetch, validate, train, backtest and write the forecast artifact: `python train.py --help`."""

import sys

from cryptopredict.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
