"""`python api.py`: the API as the image serves it, with the market feed beside it (settings from
the environment, see README): HAProxy on HOST:PORT in front of Waitress on loopback
(docs/operations.md, "The edge"). `python api.py --alone`: Waitress alone on HOST:PORT, for
development; not for a network (none of the proxy's bounds on slow, flooding and header-heavy
clients, and a stop does not wait for the requests in flight)."""

import gc
import sys

if __name__ == "__main__":
    try:
        from cryptopredict.api.server import main
        from cryptopredict.collect.cli import beside_the_api

        status = main(beside=beside_the_api, proxied=sys.argv[1:] != ["--alone"])
    except KeyboardInterrupt:  # Ctrl-C while Python was still importing: nothing to stop
        status = 130
    gc.freeze()  # what serving left is not collected at exit: a stop's 0.23 s, now 0.04
    sys.exit(status)
