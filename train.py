"""Fetch, validate, train, backtest and write the forecast artifact: `python train.py --help`."""

import sys

if __name__ == "__main__":
    try:
        from cryptopredict.training.cli import main

        status = main()
    except KeyboardInterrupt:  # Ctrl-C while Python was still importing: nothing to stop
        status = 130
    sys.exit(status)
