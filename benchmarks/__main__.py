"""``python -m benchmarks``: the same as ``vscale bench``."""

import sys

from vscale.cli.bench.run import main

sys.exit(main())
