"""Regenerate the figures in docs/_static (needs the ``plot`` extra).

    python docs/make_figures.py

* ``he_normal_bfloat16.png`` (the command-line page): ``vscale show he_normal`` in bfloat16
  on torch, or in float16 on NumPy where torch is missing.

A figure is drawn at most about 840 px wide, so that the page shows it at its natural size
in the 1280 px window of ``tools/check_docs_render.py``: a wider one would be scaled down,
its labels and legend with it (that tool fails on an image shown below 0.8 of its width).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "_static"
sys.path.insert(0, str(STATIC.parents[1]))

from vscale.cli import main as cli  # noqa: E402


def main() -> int:
    backend = (
        ["--backend", "torch", "--dtype", "bfloat16"] if importlib.util.find_spec("torch") else ["--dtype", "float16"]
    )
    return cli(["show", "he_normal", "--shape", "3", "3", "64", "128", "--seed", "0", *backend,
                "--plot", str(STATIC / "he_normal_bfloat16.png")])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
