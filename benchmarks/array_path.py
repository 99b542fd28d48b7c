"""The compiled kernels against the array operations they replace: ns per value, one process.

    python -m benchmarks.array_path               # 4096² float32 on NumPy, 5 rounds (about a minute)

What an install without a C compiler (or ``VSCALE_KERNELS=0``) costs: every distribution and
stream, at 4096² float32 values on NumPy with the engine's default threads, the same call
with the kernels and with ``VSCALE_KERNELS=0`` (read at each call), in paired rounds whose
order rotates.  A figure is the median over rounds; the ratio is array operations / kernels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from vscale.cli.bench import DISTRIBUTIONS, PRNGS, paired

SHAPE = (4096, 4096)


def _switched(call, kernels: bool):
    def run():
        os.environ["VSCALE_KERNELS"] = "1" if kernels else "0"
        try:
            return call()
        finally:
            os.environ.pop("VSCALE_KERNELS")

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds (default 5)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1; received {args.rounds}")
    import vscale

    size = SHAPE[0] * SHAPE[1]
    print(f"ns per value at 4096² float32 on NumPy, median of {args.rounds} rounds: kernels / array operations "
          f"(ratio); load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{'':<10}" + "".join(f"{d:>32}" for d in DISTRIBUTIONS))
    for prng in PRNGS:
        cells = []
        for distribution in DISTRIBUTIONS:
            init = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)
            calls = {name: _switched(lambda init=init: init(SHAPE), name == "kernels") for name in ("kernels", "ops")}
            times = paired(calls, args.rounds, 1)
            fast, slow = (1e9 * statistics.median(times[name]) / size for name in ("kernels", "ops"))
            cells.append(f"{fast:.2f} / {slow:.2f} ({slow / fast:.1f}x)")
        print(f"{prng:<10}" + "".join(f"{c:>32}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
