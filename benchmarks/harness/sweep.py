"""Size sweep: vscale against each framework's own sampler, float32, from 10 values to 4096².

``python -m benchmarks --sweep`` times, for each backend and
distribution, vscale against the sampler its framework ships, in the same process:

=========  ====================  ===================================================
backend    vscale distribution   compared with
=========  ====================  ===================================================
numpy      truncated_normal      ``Generator.standard_normal``, ``Generator.random``
numpy      untruncated_normal    ``Generator.standard_normal(n, dtype=float32)``
numpy      uniform               ``Generator.random(n, dtype=float32)``
torch      truncated_normal      ``torch.nn.init.trunc_normal_`` (cut at ±2 σ)
torch      untruncated_normal    ``Tensor.normal_``
torch      uniform               ``Tensor.uniform_``
=========  ====================  ===================================================

vscale's call is ``VarianceScaling(1.0, "fan_in", distribution, seed=0)(shape, "float32")``
(``xp="torch"`` on torch); the sizes are ``n`` = 10, 4096, 36864, 262144 and 4096² (and 1e8
with ``--long``), shaped ``(n,)`` when ``n`` is not a square and ``(√n, √n)`` when it is.
The NumPy peers are NumPy's raw draws (deviation 1, or [0, 1)), the work vscale's output
is held to; torch's peers draw vscale's deviation (or bound) directly, which costs them
nothing extra.

Timing resists the noise of a small shared machine by interleaving: every
``(backend, distribution, size)`` is one group, vscale and its peers.  Each case is
warmed up, then its calls per batch are set so that one batch lasts about
``min_batch_s`` (hundreds of calls at ``n`` = 10, one at 4096²); then ``rounds`` rounds
each time one batch of every case in the group, in an order that rotates from round to
round, so that a slow spell of the machine hits every case alike.  A case's time in a
round is its batch time divided by its calls.  The report gives each case's median
per-call time with its interquartile range, ns per value, and ``ratio`` = vscale's
median / the peer's median (with the interquartile range of the per-round ratios, a
measure of how much the machine moved during the run).  Each backend runs in its own
process, so that one framework's thread pools do not slow the other's.

The targets (:data:`TARGETS`) are checked and printed as PASS or MISS; the JSON report is
written only where ``--out`` asks for it.
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cases import DISTRIBUTIONS, installed
from .memory import child_environment

SWEEP_SIZES = (10, 4096, 36864, 262144, 4096 * 4096)
LONG_SIZES = (10**8,)
SWEEP_BACKENDS = ("numpy", "torch")
DEFAULT_ROUNDS = 9
QUICK_ROUNDS = 5
MIN_BATCH_S = 0.02
QUICK_MIN_BATCH_S = 0.01
# Deviation of a standard normal truncated to [-2, 2]: trunc_normal_ gets sigma / this,
# so that its output has vscale's deviation.
_TRUNCATED_STD = 0.87962566103423978

#: The framework's own samplers that each (backend, distribution) is compared with.
PEERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("numpy", "truncated_normal"): ("standard_normal", "Generator.random"),
    ("numpy", "untruncated_normal"): ("standard_normal",),
    ("numpy", "uniform"): ("Generator.random",),
    ("torch", "truncated_normal"): ("trunc_normal_",),
    ("torch", "untruncated_normal"): ("Tensor.normal_",),
    ("torch", "uniform"): ("Tensor.uniform_",),
}

_BACKEND_TITLES = {"numpy": "NumPy", "torch": "torch CPU"}


@dataclass(frozen=True)
class SweepTarget:
    """One performance target of the sweep.

    Attributes
    ----------
    label : str
        What the target limits, for people.
    backend, distribution : str
        The vscale case it is about.
    peer : str or None
        The peer it is compared with; None when the target limits vscale's own per-call time.
    kind : str
        ``"time at most"`` (``limit`` in seconds per call), ``"ratio at most"`` (vscale's
        time / the peer's) or ``"speed-up at least"`` (the peer's time / vscale's).
    limit : float
        The bound.
    min_size, max_size : int
        The sizes the target applies to (inclusive).
    """

    label: str
    backend: str
    distribution: str
    peer: str | None
    kind: str
    limit: float
    min_size: int
    max_size: int

    def applies(self, size: int) -> bool:
        """Whether the target applies at ``size`` values."""
        return self.min_size <= size <= self.max_size


_EVERY = 2**62  # no upper size bound

TARGETS: tuple[SweepTarget, ...] = (
    *(
        SweepTarget(f"{_BACKEND_TITLES[b]} {d}, time per call", b, d, None, "time at most", limit, 10, 10)
        for b, limit in (("numpy", 20e-6), ("torch", 25e-6))
        for d in DISTRIBUTIONS
    ),
    SweepTarget("torch CPU truncated_normal / trunc_normal_", "torch", "truncated_normal", "trunc_normal_",
                "ratio at most", 1.0, 4096, _EVERY),
    SweepTarget("torch CPU untruncated_normal / Tensor.normal_", "torch", "untruncated_normal", "Tensor.normal_",
                "ratio at most", 1.0, 4096, _EVERY),
    SweepTarget("torch CPU uniform / Tensor.uniform_", "torch", "uniform", "Tensor.uniform_",
                "ratio at most", 1.0, 4096, _EVERY),
    SweepTarget("NumPy untruncated_normal / standard_normal", "numpy", "untruncated_normal", "standard_normal",
                "ratio at most", 1.0, 4096, _EVERY),
    SweepTarget("NumPy uniform / Generator.random", "numpy", "uniform", "Generator.random",
                "ratio at most", 1.0, 4096, _EVERY),
    SweepTarget("NumPy truncated_normal / raw uniform (Generator.random)", "numpy", "truncated_normal",
                "Generator.random", "ratio at most", 2.5, 4096**2, 4096**2),
    SweepTarget("torch CPU truncated_normal, speed-up over trunc_normal_", "torch", "truncated_normal", "trunc_normal_",
                "speed-up at least", 4.0, 4096**2, 4096**2),
)  # fmt: skip


def sweep_shape(size: int) -> tuple[int, ...]:
    """The shape drawn for ``size`` values: ``(√n, √n)`` when ``size`` is a square, else ``(n,)``."""
    root = math.isqrt(size)
    return (root, root) if size > 1 and root * root == size else (size,)


def _stddev(shape: tuple[int, ...]) -> float:
    """VarianceScaling(1, fan_in)'s deviation for a 1-D or 2-D ``shape`` (fan_in = shape[0])."""
    return math.sqrt(1.0 / shape[0])


def sweep_calls(backend: str, distribution: Any, shape: tuple[int, ...]) -> dict[str, Callable[[], Any]]:
    """The calls of one group: ``"vscale"`` first, then each peer of :data:`PEERS`.

    Parameters
    ----------
    backend : {"numpy", "torch"}
        The array library.
    distribution : str
        One of ``truncated_normal``, ``untruncated_normal``, ``uniform``.
    shape : tuple of int
        The output's shape.

    Returns
    -------
    dict
        Label to a zero-argument call that returns a complete float32 array of ``shape``.
    """
    import vscale

    init = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0)
    calls: dict[str, Callable[[], Any]] = {}
    if backend == "numpy":
        import numpy as np

        calls["vscale"] = lambda: init(shape, "float32")
        rng = np.random.default_rng(0)
        peers: dict[str, Callable[[], Any]] = {
            "standard_normal": lambda: rng.standard_normal(shape, dtype=np.float32),
            "Generator.random": lambda: rng.random(shape, dtype=np.float32),
        }
    elif backend == "torch":
        import torch

        calls["vscale"] = lambda: init(shape, "float32", xp="torch")
        sigma = _stddev(shape)
        s = sigma / _TRUNCATED_STD
        limit = math.sqrt(3.0) * sigma
        peers = {
            "trunc_normal_": lambda: torch.nn.init.trunc_normal_(torch.empty(shape), 0.0, s, -2 * s, 2 * s),
            "Tensor.normal_": lambda: torch.empty(shape).normal_(0.0, sigma),
            "Tensor.uniform_": lambda: torch.empty(shape).uniform_(-limit, limit),
        }
    else:
        raise ValueError(f"the sweep covers {SWEEP_BACKENDS}; received backend {backend!r}")
    for peer in PEERS[backend, distribution]:
        calls[peer] = peers[peer]
    return calls


def _batch(call: Callable[[], Any], loops: int) -> float:
    """Seconds for ``loops`` calls in a row (each result is dropped before the next call)."""
    start = time.perf_counter()
    for _ in range(loops):
        call()
    return time.perf_counter() - start


def calibrate(call: Callable[[], Any], min_batch_s: float) -> int:
    """Calls per batch so that one batch of ``call`` lasts about ``min_batch_s`` (at least 1)."""
    loops = 1
    while True:
        elapsed = _batch(call, loops)
        if elapsed >= min_batch_s / 4 or loops >= 10**6:
            break
        loops *= 10
    return max(1, math.ceil(min_batch_s * loops / elapsed)) if elapsed > 0 else loops


def time_interleaved(calls: dict[str, Callable[[], Any]], rounds: int, min_batch_s: float) -> dict[str, dict[str, Any]]:
    """Per-call times of every call in ``calls``, measured in interleaved rounds.

    Parameters
    ----------
    calls : dict
        Label to zero-argument call.
    rounds : int
        Timed batches per call.
    min_batch_s : float
        About how long one batch lasts (see :func:`calibrate`).

    Returns
    -------
    dict
        Label to ``{"loops": calls per batch, "times_s": seconds per call, one per round}``.
        Round ``r`` times the calls in ``calls``' order rotated by ``r``.
    """
    labels = list(calls)
    loops = {}
    for label in labels:
        calls[label]()  # warm-up: first-call costs (imports, thread pools, caches)
        loops[label] = calibrate(calls[label], min_batch_s)
    times: dict[str, list[float]] = {label: [] for label in labels}
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection would land on whichever call is running
    try:
        for r in range(rounds):
            shift = r % len(labels)
            for label in labels[shift:] + labels[:shift]:
                times[label].append(_batch(calls[label], loops[label]) / loops[label])
    finally:
        if was_enabled:
            gc.enable()
    return {label: {"loops": loops[label], "times_s": times[label]} for label in labels}


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile of ``values``."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, statistics.median(values), q3


def summarize(times: Sequence[float], size: int) -> dict[str, Any]:
    """Median, quartiles and ns per value of per-call ``times`` for ``size`` values."""
    q1, median, q3 = _quartiles(times)
    return {"median_s": median, "q1_s": q1, "q3_s": q3, "ns_per_value": median / size * 1e9, "times_s": list(times)}


def measure_group(backend: str, distribution: str, size: int, rounds: int, min_batch_s: float) -> dict[str, Any]:
    """Time one group (vscale and its peers) at ``size`` values; one record.

    A failure (vscale or a peer raising) is recorded under ``"error"``, not raised.
    """
    shape = sweep_shape(size)
    record: dict[str, Any] = {"backend": backend, "distribution": distribution, "size": size, "shape": list(shape)}
    try:
        measured = time_interleaved(sweep_calls(backend, distribution, shape), rounds, min_batch_s)
    except Exception as error:  # reported, not fatal: the rest of the sweep still runs
        record["error"] = f"{type(error).__name__}: {error}"
        return record
    ours = measured.pop("vscale")
    record["vscale"] = {"loops": ours["loops"], **summarize(ours["times_s"], size)}
    record["peers"] = []
    for peer, theirs in measured.items():
        entry = {"peer": peer, "loops": theirs["loops"], **summarize(theirs["times_s"], size)}
        entry["ratio"] = record["vscale"]["median_s"] / entry["median_s"]
        round_ratios = [a / b for a, b in zip(ours["times_s"], theirs["times_s"], strict=False)]
        entry["ratio_q1"], _, entry["ratio_q3"] = _quartiles(round_ratios)
        record["peers"].append(entry)
    return record


def sweep_backend(
    backend: str,
    sizes: Sequence[int],
    distributions: Sequence[str],
    rounds: int,
    min_batch_s: float,
    threads: int | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Every group of ``backend``, size by size, in this process; one record per group."""
    from .run import Progress

    if backend == "torch" and threads is not None:
        import torch

        torch.set_num_threads(threads)
    bar = Progress(len(sizes) * len(distributions), progress)
    records = []
    for size in sizes:
        for distribution in distributions:
            records.append(measure_group(backend, distribution, size, rounds, min_batch_s))
            bar.step(1, f"{backend} {distribution} n={size}")
    bar.close()
    return records


def _sweep_in_child(
    backend: str,
    sizes: Sequence[int],
    distributions: Sequence[str],
    rounds: int,
    min_batch_s: float,
    threads: int | None,
    progress: bool,
) -> list[dict[str, Any]]:
    """:func:`sweep_backend` in a fresh process (its progress bar and errors go to stderr)."""
    request = json.dumps([backend, list(sizes), list(distributions), rounds, min_batch_s, threads, progress])
    env = child_environment(**({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    code = (
        "import json, sys; from benchmarks.harness.sweep import sweep_backend; "
        "print(json.dumps(sweep_backend(*json.loads(sys.stdin.read()))))"
    )
    done = subprocess.run([sys.executable, "-c", code], input=request, env=env, stdout=subprocess.PIPE, text=True,
                          check=False)  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = f"worker exited with status {done.returncode} (its error is on stderr above)"
        return [{"backend": backend, "distribution": d, "size": s, "shape": list(sweep_shape(s)), "error": why}
                for s in sizes for d in distributions]  # fmt: skip
    return json.loads(lines[-1])


def sweep_targets(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every target of :data:`TARGETS` that ``results`` can check, with its verdict.

    Returns
    -------
    list of dict
        One row per target and size: ``target``, ``backend``, ``distribution``, ``peer``,
        ``size``, ``kind``, ``limit``, ``value`` (seconds per call, a ratio or a speed-up)
        and ``met``.
    """
    rows = []
    for target in TARGETS:
        for record in results:
            if (record["backend"], record["distribution"]) != (target.backend, target.distribution):
                continue
            if "error" in record or not target.applies(record["size"]):
                continue
            if target.peer is None:
                value = record["vscale"]["median_s"]
            else:
                peer = next((p for p in record["peers"] if p["peer"] == target.peer), None)
                if peer is None:
                    continue
                value = peer["ratio"] if target.kind == "ratio at most" else 1.0 / peer["ratio"]
            met = value >= target.limit if target.kind == "speed-up at least" else value <= target.limit
            rows.append({"target": target.label, "backend": target.backend, "distribution": target.distribution,
                         "peer": target.peer, "size": record["size"], "kind": target.kind, "limit": target.limit,
                         "value": value, "met": met})  # fmt: skip
    return rows


def run_sweep(
    backends: Sequence[str] = SWEEP_BACKENDS,
    sizes: Sequence[int] = SWEEP_SIZES,
    distributions: Sequence[str] = DISTRIBUTIONS,
    rounds: int = DEFAULT_ROUNDS,
    min_batch_s: float = MIN_BATCH_S,
    threads: int | None = None,
    in_process: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the sweep; the report, targets included.

    Parameters
    ----------
    backends : sequence of str
        From ``numpy`` and ``torch``; torch is skipped, with its reason, where it is not
        installed.
    sizes : sequence of int
        Values per call.
    distributions : sequence of str
        vscale distributions to time.
    rounds : int
        Interleaved rounds (timed batches per case).
    min_batch_s : float
        About how long one timed batch lasts.
    threads : int, optional
        torch's intra-op threads (and ``OMP_NUM_THREADS`` in the workers).
    in_process : bool
        Time in this process rather than one child process per backend (tests).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    dict
        ``kind`` ("sweep"), ``machine``, the settings, ``skipped_backends`` (backend to
        reason), ``results`` (one record per backend, size and distribution, see
        :func:`measure_group`) and ``targets`` (see :func:`sweep_targets`).
    """
    from .run import machine

    unknown = [b for b in backends if b not in SWEEP_BACKENDS]
    if unknown:
        raise ValueError(f"the sweep covers the backends {SWEEP_BACKENDS}; received {unknown}")
    usable, skipped = [], {}
    for backend in backends:
        if backend == "torch" and not installed("torch"):
            skipped[backend] = "torch is not installed"
        else:
            usable.append(backend)
    results: list[dict[str, Any]] = []
    for backend in usable:
        arguments = (backend, list(sizes), list(distributions), rounds, min_batch_s, threads, progress)
        results += sweep_backend(*arguments) if in_process else _sweep_in_child(*arguments)
    return {
        "kind": "sweep",
        "dtype": "float32",
        "machine": machine(),
        "sizes": list(sizes),
        "distributions": list(distributions),
        "rounds": rounds,
        "min_batch_s": min_batch_s,
        "threads": threads,
        "backends": usable,
        "skipped_backends": skipped,
        "results": results,
        "targets": sweep_targets(results),
    }


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds < 1e-3:
        return 1e6, "µs"
    if seconds < 1.0:
        return 1e3, "ms"
    return 1.0, "s"


def _decimals(value: float) -> int:
    """Decimals that show ``value`` to three significant digits (none from 100 up)."""
    return 0 if value >= 100 else 1 if value >= 10 else 2


def format_time(median: float, q1: float | None = None, q3: float | None = None) -> str:
    """``median`` in µs, ms or s, with ``[q1–q3]`` in the same unit and decimals when given."""
    scale, unit = _time_unit(median)
    places = _decimals(median * scale)
    text = f"{median * scale:.{places}f} {unit}"
    if q1 is not None and q3 is not None:
        text += f" [{q1 * scale:.{places}f}–{q3 * scale:.{places}f}]"
    return text


def _format_number(value: float) -> str:
    return f"{value:.3f}" if value < 0.1 else f"{value:.{_decimals(value)}f}"


def _format_size(size: int) -> str:
    root = math.isqrt(size)
    return f"{size:,} ({root}²)" if root * root == size and root >= 1024 else f"{size:,}"


def _format_target(row: dict[str, Any]) -> str:
    where = f"n = {_format_size(row['size'])}"
    if row["kind"] == "time at most":
        scale, unit = _time_unit(row["limit"])
        measured, wanted = format_time(row["value"]), f"≤ {row['limit'] * scale:g} {unit}"
    elif row["kind"] == "ratio at most":
        measured, wanted = f"{_format_number(row['value'])}×", f"≤ {row['limit']:g}×"
    else:
        measured, wanted = f"{_format_number(row['value'])}× faster", f"≥ {row['limit']:g}× faster"
    return f"  {'PASS' if row['met'] else 'MISS'}  {row['target']}, {where}: {measured} (target {wanted})"


def format_sweep(report: dict[str, Any]) -> str:
    """The report as a plain-text table per backend, then the targets with PASS or MISS."""
    lines = [
        (
            f"vscale size sweep: {report['dtype']}, {report['rounds']} interleaved rounds per case, "
            f"batches of about {report['min_batch_s'] * 1e3:g} ms"
        ),
        (
            "per call: median [interquartile range] over the rounds; vscale/peer: ratio of the medians; "
            "round by round: interquartile range of the ratios of each round's pair of batches"
        ),
    ]
    for backend, why in report["skipped_backends"].items():
        lines.append(f"backend {backend} skipped: {why}")
    header = (f"{'distribution':<19} {'n':>19}  {'vscale per call':<26} {'ns/value':>8}  {'peer':<17} "
              f"{'peer per call':<26} {'ns/value':>8}  {'vscale/peer':>11}  round by round")  # fmt: skip
    for backend in report["backends"]:
        version = report["machine"].get(backend, "")
        lines += ["", f"{_BACKEND_TITLES.get(backend, backend)} ({backend} {version})".rstrip(), header,
                  "-" * len(header)]  # fmt: skip
        for record in (r for r in report["results"] if r["backend"] == backend):
            left = f"{record['distribution']:<19} {_format_size(record['size']):>19}  "
            if "error" in record:
                lines.append(left + f"failed: {record['error']}")
                continue
            ours = record["vscale"]
            ours_text = (
                f"{format_time(ours['median_s'], ours['q1_s'], ours['q3_s']):<26} "
                f"{_format_number(ours['ns_per_value']):>8}  "
            )
            for i, peer in enumerate(record["peers"]):
                lines.append(
                    left + (ours_text if i == 0 else " " * len(ours_text)) + f"{peer['peer']:<17} "
                    f"{format_time(peer['median_s'], peer['q1_s'], peer['q3_s']):<26} "
                    f"{_format_number(peer['ns_per_value']):>8}  {_format_number(peer['ratio']) + '×':>11}  "
                    f"{_format_number(peer['ratio_q1'])}–{_format_number(peer['ratio_q3'])}"
                )
    rows = report["targets"]
    lines += ["", f"Targets: {sum(r['met'] for r in rows)} of {len(rows)} met"]
    lines += [_format_target(r) for r in rows]
    return "\n".join(lines)


def json_path(out: str) -> Path:
    """Where ``--out OUT`` puts the sweep's JSON: ``OUT`` itself if it ends in ``.json``, else ``OUT/sweep.json``."""
    path = Path(out)
    return path if path.suffix == ".json" else path / "sweep.json"


def main_sweep(args: Any) -> int:
    """``python -m benchmarks --sweep`` with the harness's parsed arguments ``args``; return 0."""
    from .run import _csv, _sizes

    if args.peers:
        raise SystemExit("--peers does not apply to --sweep: it compares each backend with its own framework")
    sizes = _sizes(args.sizes, SWEEP_SIZES + (LONG_SIZES if args.long else ()))
    backends = _csv(args.backends, SWEEP_BACKENDS, SWEEP_BACKENDS)
    if args.backends and "torch" in backends and not installed("torch"):
        raise SystemExit("--backends names 'torch', which cannot run here: torch is not installed")
    distributions = _csv(args.distributions, DISTRIBUTIONS, DISTRIBUTIONS)
    rounds = args.repeats or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    min_batch_s = args.min_batch or (QUICK_MIN_BATCH_S if args.quick else MIN_BATCH_S)
    report = run_sweep(backends, sizes, distributions, rounds, min_batch_s, args.threads,
                       progress=not args.no_progress)  # fmt: skip
    print(format_sweep(report))
    if args.out:
        path = json_path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1))
        print(f"\nwrote {path}", file=sys.stderr)
    if args.plot:
        from .plot import plot_sweep

        written = plot_sweep(report, Path(args.plot))
        print(f"wrote {written}" if written else "no plot: matplotlib is not installed", file=sys.stderr)
    return 0
