import sys

from cryptopredict.release.cli import main

sys.exit(main())
