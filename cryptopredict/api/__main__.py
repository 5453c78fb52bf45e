"""`python -m cryptopredict.api`: the server of `api.py` (`train.py --serve` starts it so)."""

import sys

from cryptopredict.api.server import main

sys.exit(main())
