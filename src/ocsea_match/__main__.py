"""``python -m ocsea_match`` is ``ocsea-match``."""

import sys

from .cli import main

sys.exit(main())
