"""``python -m vscale``: the same as the ``vscale`` command."""

import sys

from .cli import main

sys.exit(main())
