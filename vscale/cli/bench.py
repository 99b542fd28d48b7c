"""``vscale bench``: a quick check of vscale against each framework's own functions, here.

Per distribution and size, vscale (both streams) against NumPy's ``Generator.standard_normal``
/ ``Generator.random`` (new arrays, as vscale's calls) and torch's ``trunc_normal_`` /
``normal_`` / ``uniform_`` (in place, as vscale's ``fill_``), float32, default threads, in
paired rounds whose order rotates; a figure is the ratio of the medians, with the lowest and
highest round.  About 15 s by default; ``--long`` runs the size sweep (n = 10 to 4096²).
The repository's ``python -m benchmarks.kernels`` uses the same code, so a case gives the
same figure in every mode.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import vscale

from ..kernels.host import status

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
PRNGS = ("native", "threefry")
BACKENDS = ("numpy", "torch")
SIZES = (4096, 4096 * 4096)
LONG_SIZES = (10, 4096, 36864, 262144, 4096 * 4096)
NUMPY_PEERS = {"truncated_normal": "standard_normal", "untruncated_normal": "standard_normal", "uniform": "random"}
TORCH_PEERS = {"truncated_normal": "trunc_normal_", "untruncated_normal": "normal_", "uniform": "uniform_"}
#: Seconds of work per timed batch: long enough to average out a call's noise.
BATCH_VALUES = 2_000_000


def shape_of(size: int) -> tuple[int, ...]:
    return (size // 4096, 4096) if size >= 4096 * 4096 else (size,)


def paired(calls: dict[str, Callable[[], Any]], rounds: int, number: int) -> dict[str, list[float]]:
    """Seconds per call of each contender, one figure per round; the order rotates each round."""
    names = list(calls)
    for call in calls.values():
        call()  # warm: plans, kernels, the first allocation's page faults
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            call = calls[name]
            start = time.perf_counter()
            for _ in range(number):
                call()
            times[name].append((time.perf_counter() - start) / number)
    return times


def ratio(times: dict[str, list[float]], name: str, peer: str) -> tuple[float, float, float]:
    """Median ratio of ``name`` to ``peer``, and the lowest and highest per-round ratio."""
    per_round = [a / b for a, b in zip(times[name], times[peer], strict=True)]
    return statistics.median(times[name]) / statistics.median(times[peer]), min(per_round), max(per_round)


def _contenders(backend: str, distribution: str, size: int) -> tuple[dict[str, Callable[[], Any]], str]:
    """vscale's calls (both streams) and the framework's own function, and that function's name."""
    shape = shape_of(size)
    inits: dict[str, Any] = {
        prng: vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)  # type: ignore[arg-type]
        for prng in PRNGS
    }
    if backend == "numpy":
        rng = np.random.default_rng(0)
        peer = NUMPY_PEERS[distribution]
        sample = rng.random if peer == "random" else rng.standard_normal
        calls: dict[str, Callable[[], Any]] = {}
        for prng, init in inits.items():
            calls[prng] = functools.partial(init, shape)
        calls["peer"] = lambda: sample(shape, dtype=np.float32)
        return calls, peer
    import torch  # optional framework: only timed where installed

    tensor = torch.empty(shape)
    peer = TORCH_PEERS[distribution]
    calls = {}
    for prng, init in inits.items():
        calls[prng] = functools.partial(init.fill_, tensor)
    calls["peer"] = {
        "trunc_normal_": lambda: torch.nn.init.trunc_normal_(tensor),
        "normal_": lambda: tensor.normal_(),
        "uniform_": lambda: tensor.uniform_(),
    }[peer]
    return calls, peer


def speed(sizes: Sequence[int], rounds: int, backends: Sequence[str] = BACKENDS) -> list[dict[str, Any]]:
    """One row per size, distribution, backend and stream: vscale's time against the peer's."""
    rows = []
    for size in sizes:
        number = max(1, BATCH_VALUES // size)
        for distribution in DISTRIBUTIONS:
            for backend in backends:
                calls, peer = _contenders(backend, distribution, size)
                times = paired(calls, rounds, number)
                for prng in PRNGS:
                    median, low, high = ratio(times, prng, "peer")
                    rows.append({
                        "size": size, "distribution": distribution, "backend": backend, "prng": prng, "peer": peer,
                        "ns_per_value": 1e9 * statistics.median(times[prng]) / size,
                        "peer_ns_per_value": 1e9 * statistics.median(times["peer"]) / size,
                        "ratio": median, "low": low, "high": high,
                    })  # fmt: skip
    return rows


def table(rows: list[dict[str, Any]], backends: Sequence[str]) -> list[str]:
    """The printed table: one line per size and distribution, a cell per backend and stream."""
    columns = [(backend, prng) for backend in backends for prng in PRNGS]
    lines = [f"{'n':>9} {'distribution':<19}" + "".join(f"{b + ' ' + p:>22}" for b, p in columns)]
    for size in dict.fromkeys(row["size"] for row in rows):
        for distribution in DISTRIBUTIONS:
            cells = []
            for backend, prng in columns:
                row = next(r for r in rows if (r["size"], r["distribution"], r["backend"], r["prng"]) == (
                    size, distribution, backend, prng))  # fmt: skip
                cells.append(f"{row['ratio']:>10.2f} ({row['low']:.2f}-{row['high']:.2f})")
            lines.append(f"{size:>9} {distribution:<19}" + "".join(cells))
    return lines


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(float(part)) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated sizes such as 4096,16777216; got {text!r}"
        ) from None
    if not sizes or any(not 1 <= size <= 2**28 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be between 1 and 2**28 values; got {text!r}")
    return sizes


def _rounds(text: str) -> int:
    try:
        rounds = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of rounds from 1 to 100; got {text!r}") from None
    if not 1 <= rounds <= 100:
        raise argparse.ArgumentTypeError(f"rounds must be between 1 and 100; got {rounds}")
    return rounds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help=f"comma-separated numbers of values (default {','.join(map(str, SIZES))})")  # fmt: skip
    parser.add_argument("--long", action="store_true",
                        help=f"the size sweep, n = {', '.join(map(str, LONG_SIZES))} (about a minute)")  # fmt: skip
    parser.add_argument("--rounds", type=_rounds, default=5, help="paired rounds per case, 1 to 100 (default 5)")
    parser.add_argument("--backend", choices=("all", *BACKENDS), default="all",
                        help="numpy, torch, or all installed (default)")  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="also write every figure here as JSON")


def run(args: argparse.Namespace) -> int:
    wanted: tuple[str, ...] = BACKENDS if args.backend == "all" else (args.backend,)
    backends = tuple(b for b in wanted if importlib.util.find_spec(b) is not None)
    sizes = args.sizes or (LONG_SIZES if args.long else SIZES)
    kernels = status()
    compiled = f"{kernels['kernels']} compiled kernels, {kernels['instruction set']}" if kernels["compiled"] else (
        "no compiled kernels: array operations")  # fmt: skip
    print(f"vscale {vscale.__version__}, numpy {np.__version__} ({compiled}); float32, {args.rounds} paired rounds")
    print("time of vscale / time of the framework's own function (median; lowest-highest round); below 1 is faster")
    print("peers: NumPy standard_normal, standard_normal, random; torch trunc_normal_, normal_, uniform_ (in place)")
    rows = speed(sizes, args.rounds, backends)
    for line in table(rows, backends):
        print(line)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"kernels": kernels, "rows": rows}, handle, indent=1)
    return 0
