"""Fetch, validate, train, backtest and write the forecast artifact: `python train.py --help`."""

import gc
import sys

if __name__ == "__main__":
    try:
        from cryptopredict.training.cli import main

        status = main()
    except KeyboardInterrupt:  # Ctrl-C while Python was still importing: nothing to stop
        status = 130
    gc.freeze()  # what training left is not collected at exit: a Ctrl-C's 1.3 s, now 0.4
    sys.exit(status)
