"""Time vscale and every installed peer per backend; write Markdown and JSON reports.

Usage (from the repository root)::

    python -m benchmarks                      # everything installed, 1e4..1e8
    python -m benchmarks --quick              # < 2 minutes: sizes 1e4..1e6, 3 repeats
    python -m benchmarks --backends numpy --peers numpy,jax --sizes 1e6,1e7
    python -m benchmarks --sweep              # 10 .. 4096² values against each framework's own sampler

Each case is one call that creates a float32 kernel of about ``size`` values (shape
``(size // 1000, 1000)``: fan_in is the row count), timed ``--repeats`` times after a
warm-up; the report gives medians in ns per value, the ratio to the group's floor
(raw uniform draws: NumPy's ``Generator.random`` on the CPU, ``uniform_`` on CUDA),
vscale's speed-up over each peer, the peak memory of one call as a multiple of the
output (see :mod:`benchmarks.harness.memory`), and the targets as met / not met.
GPU groups are skipped with their reason where no GPU is usable.

``--sweep`` runs the size sweep instead (:mod:`benchmarks.harness.sweep`): NumPy and torch CPU
against their own samplers, interleaved, from 10 values to 4096², with its targets; it
prints a table and writes JSON only where ``--out`` is given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from .cases import DISTRIBUTIONS, case_names, cuda_available, cupy_available, installed, make_case
from .memory import child_environment, peak_ratio
from .report import targets, write_markdown

ALL_BACKENDS = ("numpy", "torch", "torch-cuda", "cupy")
#: vscale's own alternatives, timed like peers: the portable stream, and a 1% region with it.
VSCALE_PEERS = ("threefry", "region")
ALL_PEERS = ("numpy", "torch", "jax", "keras", "scipy", "cupy", *VSCALE_PEERS)
DEFAULT_SIZES = (10**4, 10**5, 10**6, 10**7, 10**8)
QUICK_SIZES = (10**4, 10**5, 10**6)
# A case whose last median projects past this many seconds per call at the next size
# (SciPy's truncnorm at 1e8 values is ~16 s) is skipped there, and said so; 10 s keeps
# torch's trunc_normal_ (~6 s at 1e8 on a 2-core VM) in.
MAX_SECONDS_PER_CALL = 10.0
COLUMNS = 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1e4..1e6, 3 repeats (< 2 minutes)")
    parser.add_argument("--sizes", help="comma-separated value counts, e.g. 1e4,1e6 (default 1e4..1e8)")
    parser.add_argument("--backends", help=f"comma-separated, from {','.join(ALL_BACKENDS)} (default: all usable)")
    parser.add_argument("--peers", help=f"comma-separated, from {','.join(ALL_PEERS)} (default: all installed)")
    parser.add_argument("--distributions", help=f"comma-separated, from {','.join(DISTRIBUTIONS)}")
    parser.add_argument(
        "--repeats", type=_repeats, default=None, help="timed calls per case and size, >= 1 (default 7)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    parser.add_argument("--memory-sizes", help="sizes at which to measure memory (default: every size >= 1e6)")
    parser.add_argument(
        "--out",
        default=None,
        help="directory for report.md and report.json; with --sweep, the JSON report's file "
        "(PATH.json, or PATH/sweep.json). Reports are written only when given; the table is printed.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="intra-op threads for torch (torch.set_num_threads) and OpenMP in the workers; "
        "1 gives steadier figures on a loaded machine (default: the frameworks' own)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    sweep = parser.add_argument_group("size sweep")
    sweep.add_argument(
        "--sweep",
        action="store_true",
        help="time vscale against NumPy's and torch's own samplers, interleaved, at n = 10, 4096, "
        "36864, 262144 and 4096² values, and check the targets (--sizes, --backends, "
        "--distributions, --repeats, --threads and --quick apply)",
    )
    sweep.add_argument("--long", action="store_true", help="with --sweep: add n = 1e8")
    sweep.add_argument(
        "--min-batch",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --sweep: about how long one timed batch of calls lasts (default 0.02)",
    )
    sweep.add_argument(
        "--plot",
        metavar="FILE.png",
        default=None,
        help="with --sweep: also plot ns per value against n (needs matplotlib)",
    )
    args = parser.parse_args(argv)
    if not args.sweep:
        used = [flag for flag, value in (("--long", args.long), ("--min-batch", args.min_batch),
                                         ("--plot", args.plot)) if value]  # fmt: skip
        if used:
            parser.error(f"{', '.join(used)}: only with --sweep")
    return args


def _csv(value: str | None, default: tuple[Any, ...], allowed: tuple[str, ...] | None = None) -> list[Any]:
    if not value:
        return list(default)
    items = [v.strip() for v in value.split(",") if v.strip()]
    if allowed is not None:
        unknown = [v for v in items if v not in allowed]
        if unknown:
            _usage(f"unknown choice(s) {unknown}; choose from {allowed}")
    return items


def _sizes(value: str | None, default: tuple[int, ...]) -> list[int]:
    sizes = []
    for item in _csv(value, default):
        try:
            size = float(item)
        except ValueError:
            _usage(f"--sizes takes value counts like 1e4,1e6; received {item!r}")
        if not (math.isfinite(size) and 1 <= size <= 1e12):
            _usage(f"--sizes takes value counts between 1 and 1e12; received {item!r}")
        sizes.append(int(size))
    return sizes


def _repeats(text: str) -> int:
    try:
        repeats = int(text)
    except ValueError:
        repeats = 0
    if repeats < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; received {text!r}")
    return repeats


def _usage(message: str) -> NoReturn:
    """A bad option: one line on stderr and exit status 2, like argparse's own errors."""
    print(f"python -m benchmarks: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def usable_backends(requested: list[str], explicit: bool) -> tuple[list[str], dict[str, str]]:
    """The requested backends that can run here, and the reason for each that cannot."""
    checks = {
        "numpy": lambda: (True, ""),
        "torch": lambda: (installed("torch"), "torch is not installed"),
        "torch-cuda": cuda_available,
        "cupy": cupy_available,
    }
    usable, skipped = [], {}
    for name in requested:
        ok, why = checks[name]()
        if ok:
            usable.append(name)
        elif explicit:
            _usage(f"--backends names {name!r}, which cannot run here: {why}")
        else:
            skipped[name] = why
    return usable, skipped


class Progress:
    """tqdm when installed, else a one-line bar on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.bar = None
        if enabled and installed("tqdm"):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="case", file=sys.stderr)

    def step(self, count: int, label: str) -> None:
        self.done += count
        if self.bar is not None:
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.update(count)
        elif self.enabled:
            filled = 30 * self.done // max(self.total, 1)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {label[:40]:<40}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\n")


def time_case(call: Any, sync: Any, repeats: int) -> list[float]:
    """Seconds per call, after one untimed warm-up call."""
    sync()
    call()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        sync()
        times.append(time.perf_counter() - start)
        del result
    return times


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    for module in ("numpy", "torch", "jax", "keras", "scipy", "cupy"):
        if installed(module):
            info[module] = __import__(module).__version__
    return info


def family(name: str) -> str:
    """The process a case runs in: one per backend, plus one per foreign framework.

    Frameworks keep thread pools alive between calls (XLA's, OpenMP's), and two pools
    on a 2-core machine slow each other down; a child process per family keeps every
    measurement to its own framework's threads.
    """
    backend, library, _ = name.split("/")
    return library if library in ("jax", "keras", "scipy") else backend


def measure(
    names: list[str], shape: tuple[int, ...], repeats: int, memory: bool, threads: int | None = None
) -> list[dict[str, Any]]:
    """Time (and measure the memory of) each case in this process; one record per case."""
    if threads is not None and installed("torch") and any(n.startswith("torch") for n in names):
        import torch

        torch.set_num_threads(threads)
    records = []
    for name in names:
        record: dict[str, Any] = {"case": name, "size": shape[0] * shape[1]}
        try:
            case = make_case(name, shape)
            times = time_case(case.call, case.sync, repeats)
            record.update(group=case.group, median_s=statistics.median(times), times_s=times)
            if memory:
                record["peak_memory_x_output"] = peak_ratio(case, shape)
        except Exception as error:  # a peer that fails is reported, not fatal
            record["skipped"] = f"{type(error).__name__}: {error}"
        records.append(record)
    return records


def _measure_in_child(
    names: list[str], shape: tuple[int, ...], repeats: int, memory: bool, threads: int | None
) -> list[dict[str, Any]]:
    request = json.dumps([names, shape, repeats, memory, threads])
    env = child_environment(**({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    code = (
        "import json, sys; from benchmarks.harness.run import measure; "
        "print(json.dumps(measure(*json.loads(sys.stdin.read()))))"
    )
    done = subprocess.run([sys.executable, "-c", code], input=request, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"case": n, "size": shape[0] * shape[1], "skipped": f"worker failed: {why}"} for n in names]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every case at every size; the raw report (see :func:`main`)."""
    sizes = _sizes(args.sizes, QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeats = args.repeats or (3 if args.quick else 7)
    backends, skipped = usable_backends(_csv(args.backends, ALL_BACKENDS, ALL_BACKENDS), bool(args.backends))
    peers = [p for p in _csv(args.peers, ALL_PEERS, ALL_PEERS) if p in VSCALE_PEERS or installed(p)]
    distributions = _csv(args.distributions, DISTRIBUTIONS, DISTRIBUTIONS)
    memory_sizes = set(_sizes(args.memory_sizes, tuple(s for s in sizes if s >= 10**6)))
    families: dict[str, list[str]] = {}
    for name in case_names(backends, peers, distributions):
        families.setdefault(family(name), []).append(name)
    results: list[dict[str, Any]] = []
    per_value: dict[str, float] = {}  # seconds per value at the last size, per case
    progress = Progress(sum(map(len, families.values())) * len(sizes), not args.no_progress)
    for size in sizes:
        shape = (max(1, size // COLUMNS), min(size, COLUMNS))
        count = shape[0] * shape[1]
        for key, names in families.items():
            todo = []
            for name in names:
                projected = per_value.get(name, 0.0) * count
                if projected > MAX_SECONDS_PER_CALL:
                    results.append({"case": name, "size": count, "skipped": f"projected {projected:.0f} s per call"})
                else:
                    todo.append(name)
            memory = not args.no_memory and size in memory_sizes
            for record in _measure_in_child(todo, shape, repeats, memory, args.threads) if todo else []:
                if "median_s" in record:
                    per_value[record["case"]] = record["median_s"] / count
                results.append(record)
            progress.step(len(names), f"{key} {size:.0e}")
    progress.close()
    return {
        "machine": machine(),
        "sizes": sizes,
        "repeats": repeats,
        "backends": backends,
        "skipped_backends": skipped,
        "peers": peers,
        "threads": args.threads,
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with command-line arguments ``argv``; write the reports; return 0.

    With ``--sweep``, run the size sweep instead (:func:`benchmarks.harness.sweep.main_sweep`).
    """
    args = parse_args(argv)
    if args.sweep:
        from .sweep import main_sweep

        return main_sweep(args)
    report = run(args)
    report["targets"] = targets(report)
    markdown = write_markdown(report)
    print(markdown)
    if args.out:  # reports go only where the user asks for them
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=1))
        (out / "report.md").write_text(markdown)
        print(f"\nwrote {out / 'report.md'} and {out / 'report.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
