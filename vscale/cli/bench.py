"""``vscale bench``: a quick check of vscale against each framework's own functions, here.

Per distribution, vscale (both streams) against the function each installed framework ships
for it: NumPy's ``Generator.standard_normal`` / ``Generator.random`` (new arrays, as vscale's
calls), torch's ``trunc_normal_`` / ``normal_`` / ``uniform_`` (in place, as vscale's
``fill_``) and JAX's ``jax.random.truncated_normal`` / ``normal`` / ``uniform`` (new
arrays, waited for); CuPy's ``standard_normal`` / ``random`` when asked (a GPU).  float32,
n = 4096 and 1024² values, with vscale's threads (``VSCALE_NUM_THREADS``, else the CPUs;
the first line says how many), in paired repeats whose order rotates; a figure
is vscale's time over the framework's (the ratio of the medians), with the lowest and
highest repeat's ratio.  It prints its own run time on its last line.

``--sweep`` runs the size sweep (n = 10 to 4096²) through the same code: a case
(backend, distribution, size, stream) is timed against the same peer with the same
batches in every mode, so it gives the same figure within its spread.  The repository's
``python -m benchmarks.kernels`` uses this code too.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import vscale

from ..engine.plan import thread_count
from ..kernels.host import status
from .errors import UsageError, integer, writable

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
PRNGS = ("native", "threefry")
#: The frameworks vscale is compared with; the default is those installed, but CuPy (a GPU).
BACKENDS = ("numpy", "torch", "jax", "cupy")
DEFAULT_BACKENDS = ("numpy", "torch", "jax")
#: The framework's own function for each distribution, per backend.
PEERS: dict[str, dict[str, str]] = {
    "numpy": {"truncated_normal": "standard_normal", "untruncated_normal": "standard_normal", "uniform": "random"},
    "torch": {"truncated_normal": "trunc_normal_", "untruncated_normal": "normal_", "uniform": "uniform_"},
    "jax": {"truncated_normal": "truncated_normal", "untruncated_normal": "normal", "uniform": "uniform"},
    "cupy": {"truncated_normal": "standard_normal", "untruncated_normal": "standard_normal", "uniform": "random"},
}
SIZES = (4096, 1024 * 1024)
SWEEP_SIZES = (10, 4096, 36864, 262144, 1024 * 1024, 4096 * 4096)
MAX_SIZE = 2**28
MAX_REPEATS = 100
DEFAULT_REPEATS = 5
#: Seconds one timed batch of calls lasts at least: long enough that a call's own noise and
#: the clock's resolution average out, short enough that the default run stays near 20 s.
BATCH_S = 0.025
DESCRIPTION = (
    "Time vscale against each installed framework's own function for each distribution (NumPy, torch and JAX; "
    "CuPy on a GPU when asked), float32, at 4096 and 1024² values, in paired repeats. A figure is vscale's time "
    "over the framework's, with the lowest and highest repeat's ratio; below 1x vscale is faster. The last line "
    "says how long the run took."
)
USAGE = "vscale bench [--sweep] [--backend NAME] [--sizes N,N,...] [--repeats N] [--json PATH]"


def shape_of(size: int) -> tuple[int, ...]:
    return (size // 4096, 4096) if size >= 4096 * 4096 else (size,)


def calls_per_batch(call: Callable[[], Any], seconds: float = BATCH_S) -> int:
    """How many calls of ``call`` (already warm) last about ``seconds``; at least one."""
    start = time.perf_counter()
    call()
    once = time.perf_counter() - start
    return max(1, min(100_000, math.ceil(seconds / max(once, 1e-7))))


def paired(calls: dict[str, Callable[[], Any]], rounds: int, number: int | None = None) -> dict[str, list[float]]:
    """Seconds per call of each contender, one figure per round; the order rotates each round.

    ``number`` calls make one timed batch; None sets each contender's own so that a batch
    lasts about :data:`BATCH_S`.
    """
    names = list(calls)
    for call in calls.values():
        call()  # warm: plans, kernels, the first allocation's page faults
    batch = {name: number or calls_per_batch(call) for name, call in calls.items()}
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            call = calls[name]
            start = time.perf_counter()
            for _ in range(batch[name]):
                call()
            times[name].append((time.perf_counter() - start) / batch[name])
    return times


def ratio(times: dict[str, list[float]], name: str, peer: str) -> tuple[float, float, float]:
    """Median ratio of ``name`` to ``peer``, and the lowest and highest per-round ratio."""
    per_round = [a / b for a, b in zip(times[name], times[peer], strict=True)]
    return statistics.median(times[name]) / statistics.median(times[peer]), min(per_round), max(per_round)


def _contenders(backend: str, distribution: str, size: int) -> dict[str, Callable[[], Any]]:
    """vscale's calls (both streams) and, as ``"peer"``, the framework's own function."""
    shape = shape_of(size)
    inits: dict[str, Any] = {
        prng: vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)  # type: ignore[arg-type]
        for prng in PRNGS
    }
    peer = PEERS[backend][distribution]
    if backend == "numpy":
        rng = np.random.default_rng(0)
        sample = rng.random if peer == "random" else rng.standard_normal
        calls: dict[str, Callable[[], Any]] = {prng: functools.partial(init, shape) for prng, init in inits.items()}
        calls["peer"] = lambda: sample(shape, dtype=np.float32)
        return calls
    if backend == "torch":
        import torch  # optional framework: only timed where installed

        tensor = torch.empty(shape)
        calls = {prng: functools.partial(init.fill_, tensor) for prng, init in inits.items()}
        calls["peer"] = {
            "trunc_normal_": lambda: torch.nn.init.trunc_normal_(tensor),
            "normal_": lambda: tensor.normal_(),
            "uniform_": lambda: tensor.uniform_(),
        }[peer]
        return calls
    if backend == "jax":
        import jax  # optional framework, as above
        import jax.numpy as jnp  # optional framework, as above

        key = jax.random.key(0)
        own = {
            "truncated_normal": lambda: jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32),
            "normal": lambda: jax.random.normal(key, shape, jnp.float32),
            "uniform": lambda: jax.random.uniform(key, shape, jnp.float32),
        }[peer]
        # JAX dispatches asynchronously: a call counts until its array is ready.
        calls = {prng: _waited(functools.partial(init, shape, xp=jnp), _ready) for prng, init in inits.items()}
        calls["peer"] = _waited(own, _ready)
        return calls
    import cupy  # optional framework, as above

    generator = cupy.random.default_rng(0)
    draw = generator.random if peer == "random" else generator.standard_normal
    done = _synchronizer(cupy)  # a GPU call counts until the GPU is done with it
    calls = {prng: _waited(functools.partial(init, shape, xp=cupy), done) for prng, init in inits.items()}
    calls["peer"] = _waited(functools.partial(draw, shape, dtype=cupy.float32), done)
    return calls


def _waited(call: Callable[[], Any], wait: Callable[[Any], Any]) -> Callable[[], Any]:
    """``call``, then ``wait`` on its result: an asynchronous framework's call, timed to its end."""
    return lambda: wait(call())


def _ready(array: Any) -> Any:
    return array.block_until_ready()


def _synchronizer(cupy: Any) -> Callable[[Any], Any]:
    stream = cupy.cuda.get_current_stream()
    return lambda _: stream.synchronize()


def speed(sizes: Sequence[int], rounds: int, backends: Sequence[str] = ("numpy", "torch")) -> list[dict[str, Any]]:
    """One row per size, distribution, backend and stream: vscale's time against the peer's."""
    rows = []
    for size in sizes:
        for distribution in DISTRIBUTIONS:
            for backend in backends:
                times = paired(_contenders(backend, distribution, size), rounds)
                for prng in PRNGS:
                    median, low, high = ratio(times, prng, "peer")
                    rows.append({
                        "size": size, "distribution": distribution, "backend": backend, "prng": prng,
                        "peer": PEERS[backend][distribution],
                        "ns_per_value": 1e9 * statistics.median(times[prng]) / size,
                        "peer_ns_per_value": 1e9 * statistics.median(times["peer"]) / size,
                        "ratio": median, "low": low, "high": high,
                    })  # fmt: skip
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The printed table: one line per size, distribution and backend, a cell per stream."""
    lines = [f"{'n':>9}  {'distribution':<19} {'framework: own function':<28}"
             + "".join(f" {'vscale ' + prng:>21}" for prng in PRNGS)]  # fmt: skip
    cases = dict.fromkeys((row["size"], row["distribution"], row["backend"]) for row in rows)
    for size, distribution, backend in cases:
        cells = [row for row in rows if (row["size"], row["distribution"], row["backend"]) == (size, distribution,
                                                                                               backend)]  # fmt: skip
        peer = f"{backend}: {cells[0]['peer']}"
        figures = "".join(f" {_figure(cell):>21}" for cell in cells)
        lines.append(f"{size:>9}  {distribution:<19} {peer:<28}{figures}")
    return lines


def _figure(row: dict[str, Any]) -> str:
    return f"{row['ratio']:.2f}x ({row['low']:.2f}-{row['high']:.2f})"


def _sizes(text: str) -> tuple[int, ...]:
    allowed = f"comma-separated numbers of values from 1 to {MAX_SIZE:,} (2**28), such as 4096,1048576"
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {allowed}; received {text!r}") from None
    if not sizes or any(not 1 <= size <= MAX_SIZE for size in sizes):
        raise argparse.ArgumentTypeError(f"expected {allowed}; received {text!r}")
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sweep", "--long", action="store_true",
                        help=f"the size sweep through the same code, n = {', '.join(map(str, SWEEP_SIZES))} "
                        "(minutes; --long is the old name)")  # fmt: skip
    parser.add_argument("--backend", choices=("all", *BACKENDS), default="all", metavar="NAME",
                        help="%(choices)s: the framework to compare with (default: all, every installed one "
                        "of numpy, torch, jax; cupy needs a GPU)")  # fmt: skip
    parser.add_argument("--sizes", type=_sizes, default=None, metavar="N,N,...",
                        help=f"numbers of values, each from 1 to {MAX_SIZE:,} "
                        f"(default: {','.join(map(str, SIZES))}; with --sweep: the sweep's)")  # fmt: skip
    parser.add_argument("--repeats", "--rounds", type=integer(1, MAX_REPEATS), default=DEFAULT_REPEATS,
                        metavar="N", help=f"paired repeats per case, 1 to {MAX_REPEATS} "
                        "(default: %(default)s; --rounds is the old name)")  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="also write every figure here as JSON")


def usable(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as they can run here; a named one that cannot is a :class:`UsageError`."""
    for name in names:
        if importlib.util.find_spec(name) is None:
            raise UsageError(f"argument --backend: {name} is not installed here (pip install {name})")
        try:
            vscale.HeNormal(seed=0)((1,), xp=name)  # the library says why a backend cannot run (no GPU, ...)
        except (ValueError, TypeError) as error:
            raise UsageError(f"argument --backend: {name} cannot run here: {error}") from None
    return tuple(names)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.json:
        writable("--json", args.json)  # before minutes of measuring
    if args.backend == "all":
        backends = usable([b for b in DEFAULT_BACKENDS if importlib.util.find_spec(b) is not None])
    else:
        backends = usable([args.backend])
    sizes = args.sizes or (SWEEP_SIZES if args.sweep else SIZES)
    kernels = status()
    compiled = f"{kernels['kernels']} compiled kernels, {kernels['instruction set']}" if kernels["compiled"] else (
        "no compiled kernels: array operations")  # fmt: skip
    print(
        f"vscale {vscale.__version__} ({compiled}); float32, {args.repeats} paired repeats, "
        f"vscale threads: {thread_count()}"
    )
    print(
        "vscale's time / the framework's own function's: ratio of the medians (lowest-highest repeat); below 1x: faster"
    )
    rows = speed(sizes, args.repeats, backends)
    for line in table(rows):
        print(line)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"kernels": kernels, "repeats": args.repeats, "rows": rows}, handle, indent=1)
    print(f"measured in {time.perf_counter() - started:.0f} s")
    return 0
