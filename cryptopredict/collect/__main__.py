import sys

from cryptopredict.collect.cli import main

sys.exit(main())
