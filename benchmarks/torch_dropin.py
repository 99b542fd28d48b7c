"""vscale.torch's torch.nn.init functions against torch.nn.init's own, call for call.

For each case (one function with its arguments, the same for both) and each repeat, the
two contenders run once each, in an order that alternates from repeat to repeat, after one
untimed warm-up of each: they are paired and interleaved, so a noisy machine slows both
alike.  The table gives the median nanoseconds per value of each, the min-max spread, and
the ratio of the medians (vscale / torch; below 1: vscale is faster).

Run from the repository root::

    python -m benchmarks.torch_dropin [--size 4194304] [--repeats 9] [--dtype float32] [--threads N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

import vscale.torch
from vscale.engine.plan import thread_count

#: (label, function name, keyword arguments): the default, timm's, a ±2σ window, a far tail,
#: a one-sided window, and the untruncated and uniform distributions.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("trunc_normal_ std=1 [-2, 2]", "trunc_normal_", {}),
    ("trunc_normal_ std=0.02 [-2, 2] (timm)", "trunc_normal_", {"std": 0.02}),
    ("trunc_normal_ std=0.02 [-0.04, 0.04]", "trunc_normal_", {"std": 0.02, "a": -0.04, "b": 0.04}),
    ("trunc_normal_ [8, 9]", "trunc_normal_", {"a": 8.0, "b": 9.0}),
    ("trunc_normal_ [3, inf)", "trunc_normal_", {"a": 3.0, "b": float("inf")}),
    ("normal_ std=0.02", "normal_", {"std": 0.02}),
    ("uniform_ [-0.1, 0.1]", "uniform_", {"a": -0.1, "b": 0.1}),
]


def _time(fill: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fill()
    return time.perf_counter() - start


def measure(size: int, repeats: int, dtype: torch.dtype) -> list[dict[str, Any]]:
    tensor = torch.empty(size, dtype=dtype)
    rows = []
    for label, name, kwargs in CASES:
        contenders = {
            "vscale": lambda name=name, kwargs=kwargs: getattr(vscale.torch, name)(tensor, **kwargs),
            "torch": lambda name=name, kwargs=kwargs: getattr(torch.nn.init, name)(tensor, **kwargs),
        }
        times: dict[str, list[float]] = {key: [] for key in contenders}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's "mean is more than 2 std from [a, b]"
            refused = []
            for key, fill in contenders.items():
                try:
                    fill()
                except (RuntimeError, ValueError) as error:  # torch's trunc_normal_ refuses b=inf
                    refused.append(f"{key}: {error}")
            if refused:
                rows.append({"case": label, "refused": refused})
                continue
            for repeat in range(repeats):
                order = list(contenders) if repeat % 2 == 0 else list(reversed(contenders))
                for key in order:
                    times[key].append(_time(contenders[key]) / size * 1e9)
        row: dict[str, Any] = {"case": label}
        for key, values in times.items():
            row[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        row["ratio"] = row["vscale"]["median"] / row["torch"]["median"]
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2**22, help="values per call (default 2**22)")
    parser.add_argument("--repeats", type=int, default=9, help="paired repeats per case (default 9)")
    parser.add_argument("--dtype", default="float32", choices=["float16", "bfloat16", "float32", "float64"])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeats < 1:
        parser.error("--size and --repeats must be at least 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = measure(args.size, args.repeats, getattr(torch, args.dtype))
    print(f"torch {torch.__version__} (threads: {torch.get_num_threads()}), vscale threads: {thread_count()}, "
          f"{args.dtype}, {args.size} values, "
          f"{args.repeats} paired repeats; ns per value, median [min-max]")  # fmt: skip
    print(f"{'case':40} {'vscale':>22} {'torch':>22} {'ratio':>7}")
    for row in rows:
        if "refused" in row:
            print(f"{row['case']:40} refused ({'; '.join(row['refused'])})")
            continue
        cells = [f"{row[k]['median']:7.2f} [{row[k]['min']:.2f}-{row[k]['max']:.2f}]" for k in ("vscale", "torch")]
        print(f"{row['case']:40} {cells[0]:>22} {cells[1]:>22} {row['ratio']:6.2f}x")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
