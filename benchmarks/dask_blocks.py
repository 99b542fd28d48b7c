"""Lazy Dask arrays against one NumPy call, and what a block (a region) costs: seconds.

    python -m benchmarks.dask_blocks              # 4096² float32, best of 3 (about a minute)
    python -m benchmarks.dask_blocks --large      # and 2 GiB, one run (several minutes)

``HeNormal`` in float32, both streams.  NumPy: one call in this process (the engine's
threads) and its sum.  Dask: a ``LocalCluster`` of two worker processes with one thread
each, computing the sum of the lazy array where the blocks are made, or gathering the array
to the client; once with Dask's worker defaults, once with ``MALLOC_TOP_PAD_`` = 16 MiB set
through Dask's configuration (docs/distributed.md).  Then, in fresh processes under each
malloc setting: a block of 1024 whole rows of a (32768, 16384) call against a call of the
block's shape, and a block of 1024-value pieces of 1024 rows, in ns per value.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

PRNGS = ("native", "threefry")
PAD = {"MALLOC_TOP_PAD_": str(16 * 2**20)}
#: Dask's nanny starts workers with this (distributed.nanny.pre-spawn-environ).
TRIM = {"MALLOC_TRIM_THRESHOLD_": "65536"}


def best(call: Callable[[], Any], repeats: int) -> float:
    call_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        call_times.append(time.perf_counter() - start)
    return min(call_times)


def cases(large: bool) -> list[tuple[str, str, tuple[int, int], tuple[int, int], str]]:
    """(label, prng, shape, chunks, what): the rows of the table."""
    rows = []
    for prng in PRNGS:
        rows += [
            (f"{prng}, 4096², blocks of 1024 × 4096, summed", prng, (4096, 4096), (1024, 4096), "sum"),
            (f"{prng}, 4096², gathered to the client", prng, (4096, 4096), (1024, 4096), "gather"),
        ]
        if large:
            rows.append((f"{prng}, 2 GiB, blocks of 1024 × 16384, summed", prng, (32768, 16384), (1024, 16384), "sum"))
    return rows


def runs(shape: tuple[int, int], repeats: int) -> int:
    """The 2 GiB arrays run once; the others ``repeats`` times."""
    return 1 if shape[1] > 4096 else repeats


def dask_seconds(rows: list[tuple[Any, ...]], environ: dict[str, str], repeats: int) -> list[float]:
    import dask
    import distributed

    import vscale
    import vscale.dask

    settings = {f"distributed.nanny.pre-spawn-environ.{name}": value for name, value in environ.items()}
    with (
        dask.config.set(settings),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2)
        warm = vscale.dask.array(vscale.HeNormal(seed=0, prng="threefry"), (4096, 256), chunks=(512, 256))
        client.compute(warm.sum()).result()  # the workers import vscale and load its kernels
        out = []
        for _, prng, shape, chunks, what in rows:
            init = vscale.HeNormal(seed=0, prng=prng)

            def run(init=init, shape=shape, chunks=chunks, what=what):
                lazy = vscale.dask.array(init, shape, "float32", chunks=chunks)
                return client.compute(lazy.sum()).result() if what == "sum" else client.gather(client.compute(lazy))

            out.append(best(run, runs(shape, repeats)))
        return out


_REGION_CHILD = """
import sys, time, vscale
repeats = int(sys.argv[1])
def best(call):
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); call(); times.append(time.perf_counter() - start)
    return min(times)
whole, rows, pieces = (32768, 16384), (slice(0, 1024),), (slice(0, 1024), slice(0, 1024))
for prng in ("native", "threefry"):
    init = vscale.HeNormal(seed=0, prng=prng)
    call = best(lambda: init((1024, 16384)))
    block = best(lambda: init.sample(whole, region=rows))
    piece = best(lambda: init.sample(whole, region=pieces))
    print(f"  {prng:<9} call {call:.2f} s; block of rows {block:.2f} s; "
          f"1024 x 1024 piece {1e9 * piece / 2**20:.0f} ns a value (call {1e9 * call / 2**24:.1f})")
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="add the 2 GiB arrays (one run each)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case, the best kept (default 3)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; received {args.repeats}")
    import vscale

    rows = cases(args.large)
    numpy = []
    for _, prng, shape, _, what in rows:
        init = vscale.HeNormal(seed=0, prng=prng)
        call = lambda init=init, shape=shape: float(init(shape).sum())  # noqa: E731
        numpy.append(best(call, runs(shape, args.repeats)) if what == "sum" else None)
    default = dask_seconds(rows, {}, args.repeats)
    padded = dask_seconds(rows, PAD, args.repeats)
    print(f"seconds, best of {args.repeats} (2 GiB: one run); load {os.getloadavg()[0]:.2f}")
    print(f"{'':<46} {'NumPy':>8} {'Dask':>8} {'Dask, MALLOC_TOP_PAD_':>22}")
    for (label, *_), n, d, p in zip(rows, numpy, default, padded, strict=True):
        print(f"{label:<46} {'' if n is None else f'{n:.2f}':>8} {d:>8.2f} {p:>22.2f}")
    print("one process: a block (region) of a (32768, 16384) call against a call of its shape")
    for name, environ in (
        ("default malloc", {}),
        ("Dask's workers' malloc", TRIM),
        ("with MALLOC_TOP_PAD_", TRIM | PAD),
    ):
        print(f" {name}:", flush=True)
        subprocess.run([sys.executable, "-c", _REGION_CHILD, str(args.repeats)], env=os.environ | environ, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
