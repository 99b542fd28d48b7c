"""Regenerate the figures in docs/_static (needs the ``plot`` extra).

    python docs/make_figures.py

* ``performance.png``: from ``docs/_static/performance-report.json`` (the benchmark
  report; refresh it with ``python -m benchmarks --out DIR`` and copy ``DIR/report.json``).
* ``he_normal_bfloat16.png``: ``vscale show he_normal`` in bfloat16 on torch, or in
  float16 on NumPy where torch is missing.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "_static"
sys.path.insert(0, str(STATIC.parents[1]))

from benchmarks.harness import plot  # noqa: E402
from vscale.cli import main as cli  # noqa: E402


def main() -> int:
    plot.main([str(STATIC / "performance-report.json"), str(STATIC / "performance.png")])
    backend = (
        ["--backend", "torch", "--dtype", "bfloat16"] if importlib.util.find_spec("torch") else ["--dtype", "float16"]
    )
    return cli(["show", "he_normal", "--shape", "3", "3", "64", "128", "--seed", "0", *backend,
                "--plot", str(STATIC / "he_normal_bfloat16.png")])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
