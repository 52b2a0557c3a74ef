"""``python -m service``: start the web service (configuration from the environment, see service.config)."""

import sys

from service.server import main

sys.exit(main())
