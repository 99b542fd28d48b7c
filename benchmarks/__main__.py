"""``python -m benchmarks``: the same as ``vscale bench``."""

import sys

from vscale.bench.run import main

sys.exit(main())
