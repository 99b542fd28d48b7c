"""The compiled kernels' targets: vscale against each framework's own function, paired.

    python -m benchmarks.kernels                  # about a minute on 2 cores
    python -m benchmarks.kernels --quick          # a smoke run (small sizes, 2 rounds)
    python -m benchmarks.kernels --json out.json  # the raw timings too

Every distribution, both streams (``native``, ``threefry``), NumPy and torch CPU, float32,
default threads, at n = 10, 4096, 36864, 262144 and 4096²; the peers are NumPy's
``Generator.standard_normal`` / ``Generator.random`` (new arrays, as vscale's calls) and
torch's ``trunc_normal_`` / ``normal_`` / ``uniform_`` (in place on a tensor, as vscale's
``fill_`` here).  Contenders of one size run in rotating order, round after round (paired,
interleaved: the machine's drift hits them alike); a figure is the median over rounds, the
spread the lowest and highest per-round ratio.  Then: time per call at n = 10, the truncated
normal at 4096² against NumPy's raw float32 uniform draws, and peak memory (the peak resident
set over the resident set before the call, in a fresh process per case, Linux's
``/proc/self/clear_refs``) for 64 MiB outputs at 1 to 64 threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from typing import Any

import numpy as np

from vscale.cli.bench import DISTRIBUTIONS, PRNGS, paired, ratio, speed

SIZES = (4096, 36864, 262144, 4096 * 4096)


def small_calls(rounds: int) -> list[dict[str, Any]]:
    """Microseconds per call at n = 10: new arrays on NumPy and torch, and ``fill_`` against ``trunc_normal_``."""
    import torch

    import vscale

    tensor = torch.empty(10)
    rows = []
    for distribution in DISTRIBUTIONS:
        for prng in PRNGS:
            init = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)
            calls = {
                "numpy": lambda init=init: init((10,)),
                "torch": lambda init=init: init((10,), xp="torch"),
                "torch fill_": lambda init=init: init.fill_(tensor),
                "trunc_normal_": lambda: torch.nn.init.trunc_normal_(tensor),
            }
            times = paired(calls, rounds, 2000)
            for name in ("numpy", "torch", "torch fill_"):
                median, low, high = ratio(times, name, "trunc_normal_")
                rows.append({
                    "distribution": distribution, "prng": prng, "call": name,
                    "us": 1e6 * statistics.median(times[name]), "us_low": 1e6 * min(times[name]),
                    "us_high": 1e6 * max(times[name]), "vs_trunc_normal_": median,
                })  # fmt: skip
    return rows


def floor(rounds: int) -> list[dict[str, Any]]:
    """The truncated normal at 4096² against NumPy's raw float32 uniform draws."""
    import vscale

    rng = np.random.default_rng(0)
    shape = (4096, 4096)
    calls = {prng: vscale.VarianceScaling(1.0, "fan_in", seed=0, prng=prng) for prng in PRNGS}
    timed = {prng: (lambda init=init: init(shape)) for prng, init in calls.items()}
    timed["random"] = lambda: rng.random(shape, dtype=np.float32)
    times = paired(timed, rounds, 1)
    fields = ("prng", "ratio", "low", "high")
    return [dict(zip(fields, (prng, *ratio(times, prng, "random")), strict=True)) for prng in PRNGS]


_MEMORY_CHILD = """
import sys, numpy as np, vscale
dtype, mode, prng = sys.argv[1], sys.argv[2], sys.argv[3]
size = np.dtype(dtype).itemsize
count = (64 * 2**20) // size
init = vscale.VarianceScaling(1.0, "fan_in", "truncated_normal", seed=0, prng=prng)
init((256, 4096), dtype)  # plans, kernels, imports and the threads' first buffers before measuring
target = np.ones((count // 4096, 4096), dtype) if mode == "fill_" else None  # its pages touched


def resident(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) * 1024


with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # Linux: the peak resident size (VmHWM) starts again from the current one
base = resident("VmRSS:") - (count * size if mode == "fill_" else 0)
result = init.fill_(target) if mode == "fill_" else init((count // 4096, 4096), dtype)
print((resident("VmHWM:") - base) / (count * size))
"""


def memory(threads: tuple[int, ...]) -> list[dict[str, Any]]:
    """Peak resident memory over the output, for 64 MiB outputs (the array itself counts 1.0)."""
    rows = []
    for dtype in ("float16", "float32"):
        for mode in ("call", "fill_"):
            for prng in PRNGS:
                for count in threads:
                    env = dict(os.environ, VSCALE_NUM_THREADS=str(count))
                    done = subprocess.run(
                        [sys.executable, "-c", _MEMORY_CHILD, dtype, mode, prng],
                        capture_output=True, text=True, env=env, check=True,
                    )  # fmt: skip
                    rows.append({"dtype": dtype, "mode": mode, "prng": prng, "threads": count,
                                 "peak_over_output": float(done.stdout)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds per size (default 7)")
    parser.add_argument("--json", metavar="PATH", help="write every figure here as JSON")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1; received {args.rounds}")
    rounds = 2 if args.quick else args.rounds
    sizes = SIZES[:2] if args.quick else SIZES
    import torch

    import vscale
    from vscale.kernels.host import status

    kernels = status()
    print(f"vscale {vscale.__version__}, numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"kernels: {kernels['kernels'] if kernels['compiled'] else 'none'} ({kernels['instruction set']})")  # fmt: skip
    rows = speed(sizes, rounds)
    print("ratio to the framework's own function (median; lowest-highest round), float32:")
    print(f"{'n':>9} {'distribution':<19}" + "".join(f"{b + ' ' + p:>22}" for b in ("numpy", "torch") for p in PRNGS))
    for size in sizes:
        for distribution in DISTRIBUTIONS:
            cells = [
                next(r for r in rows if (r["size"], r["distribution"], r["backend"], r["prng"]) == (size, distribution,
                                                                                                   b, p))
                for b in ("numpy", "torch") for p in PRNGS
            ]  # fmt: skip
            text = "".join(f"{c['ratio']:>10.2f} ({c['low']:.2f}-{c['high']:.2f})" for c in cells)
            print(f"{size:>9} {distribution:<19}{text}")
    small = small_calls(rounds)
    print("n = 10, microseconds per call (median), and fill_ against trunc_normal_'s call:")
    for prng in PRNGS:
        line = []
        for distribution in DISTRIBUTIONS:
            cells = {r["call"]: r for r in small if (r["prng"], r["distribution"]) == (prng, distribution)}
            line.append(f"{distribution[:5]} {cells['numpy']['us']:.1f}/{cells['torch']['us']:.1f}/"
                        f"{cells['torch fill_']['us']:.1f} ({cells['torch fill_']['vs_trunc_normal_']:.2f}x)")  # fmt: skip
        print(f"  {prng:<9} numpy/torch/fill_: " + "; ".join(line))
    floors = floor(rounds)
    print("truncated normal at 4096² / NumPy's raw float32 uniform: " + "; ".join(
        f"{f['prng']} {f['ratio']:.2f}x ({f['low']:.2f}-{f['high']:.2f})" for f in floors))  # fmt: skip
    peaks = memory((1, 2) if args.quick else (1, 2, 8, 64))
    worst: dict[tuple[str, str], float] = {}
    for p in peaks:
        worst[(p["dtype"], p["mode"])] = max(worst.get((p["dtype"], p["mode"]), 0.0), p["peak_over_output"])
    print("peak memory / output, 64 MiB, worst over threads 1-64 and both streams: " + "; ".join(
        f"{dtype} {mode} {value:.3f}x" for (dtype, mode), value in worst.items()))  # fmt: skip
    if args.json:
        machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                   "numpy": np.__version__, "torch": torch.__version__, "vscale": vscale.__version__,
                   "kernels": kernels}  # fmt: skip
        with open(args.json, "w") as handle:
            json.dump({"machine": machine, "speed": rows, "small": small, "floor": floors, "memory": peaks}, handle,
                      indent=1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
