"""``python -m bench``: run the service benchmark (see bench/run.py)."""

import sys

from bench.run import main

sys.exit(main())
