"""Peak memory of one call, as a multiple of the output's size.

* ``tracemalloc`` (NumPy, Keras' NumPy backend, SciPy): NumPy reports its data
  allocations to tracemalloc, so the traced peak is exact and needs no subprocess.
* ``cuda`` (torch CUDA): ``torch.cuda.max_memory_allocated`` after a reset.
* ``cupy``: the default memory pool's total after freeing its cached blocks first
  (the pool keeps every block it used during the call, so its total is the peak).
* ``rss`` (torch CPU, JAX): torch's and XLA's allocators do not report to tracemalloc,
  so a child process rebuilds the case, resets the kernel's peak-RSS mark
  (``/proc/self/clear_refs``, Linux >= 4.0) and reads ``VmHWM`` after one call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

from .cases import Case, make_case


def output_bytes(array: Any) -> int:
    return int(array.size if isinstance(array.size, int) else array.numel()) * array.dtype.itemsize


def peak_ratio(case: Case, shape: tuple[int, ...]) -> float | None:
    """Peak memory of one ``case.call()`` divided by its output's bytes (None if unmeasurable)."""
    if case.memory == "tracemalloc":
        tracemalloc.start()
        try:
            out = case.call()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak / output_bytes(out)
    if case.memory == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        out = case.call()
        case.sync()
        return (torch.cuda.max_memory_allocated() - before) / output_bytes(out)
    if case.memory == "cupy":
        import cupy

        pool = cupy.get_default_memory_pool()
        pool.free_all_blocks()
        before = pool.used_bytes()
        out = case.call()
        case.sync()
        return (pool.total_bytes() - before) / output_bytes(out)
    return _rss_in_child(case.name, shape)


def child_environment(**extra: str) -> dict[str, str]:
    """This environment, with the checkout holding ``benchmarks/`` (and the ``vscale`` the
    parent imported) first on the path.

    Workers must import the same harness and ``vscale`` as the parent, whatever their
    working directory.
    """
    import vscale

    checkout = str(Path(__file__).resolve().parents[2])  # the folder holding benchmarks/
    package_parent = str(Path(vscale.__file__).resolve().parents[1])  # the folder holding vscale/
    path = os.pathsep.join(p for p in (checkout, package_parent, os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


def _rss_in_child(name: str, shape: tuple[int, ...]) -> float | None:
    if not Path("/proc/self/clear_refs").exists():
        return None
    code = f"from benchmarks.harness.memory import rss_probe; rss_probe({name!r}, {shape!r})"
    done = subprocess.run([sys.executable, "-c", code], env=child_environment(), capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])["ratio"]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_probe(name: str, shape: tuple[int, ...]) -> None:
    """Child side of the ``rss`` method: print ``{"ratio": peak / output}`` as JSON."""
    case = make_case(name, shape)
    small = make_case(name, (16, 16))
    small.call()  # first-call costs (thread pools, kernels) are not the call's memory
    Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS
    before = _status_kib("VmRSS")
    out = case.call()
    peak = _status_kib("VmHWM")
    print(json.dumps({"ratio": (peak - before) * 1024 / output_bytes(out)}))
