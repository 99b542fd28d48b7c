"""Ratios, the speed and memory targets and the Markdown report, from the harness's raw results."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# Issue 5's targets: (description, numerator case, denominator case, limit, kind).
# "at most" limits a ratio of times; "at least" limits a speed-up (peer time / vscale time).
_TARGETS = (
    ("NumPy truncated_normal / raw uniform", "numpy/vscale/truncated_normal", "numpy/floor/uniform", 2.5, "at most"),
    ("NumPy untruncated_normal / standard_normal", "numpy/vscale/untruncated_normal", "numpy/numpy/untruncated_normal",
     1.0, "at most"),
    ("NumPy uniform / raw uniform", "numpy/vscale/uniform", "numpy/floor/uniform", 1.25, "at most"),
    ("torch trunc_normal_ / vscale torch (speed-up)", "torch/torch/truncated_normal", "torch/vscale/truncated_normal",
     4.0, "at least"),
    ("vscale torch uniform / kaiming_uniform_", "torch/vscale/uniform", "torch/torch/uniform", 1.25, "at most"),
    *(
        (f"JAX / vscale NumPy, {d} (speed-up)", f"numpy/jax/{d}", f"numpy/vscale/{d}", 1.0, "above")
        for d in ("truncated_normal", "untruncated_normal", "uniform")
    ),
    *(
        (f"Keras / vscale NumPy, {d} (speed-up)", f"numpy/keras/{d}", f"numpy/vscale/{d}", 5.0, "at least")
        for d in ("truncated_normal", "untruncated_normal", "uniform")
    ),
    ("torch CUDA trunc_normal_ / vscale (speed-up)", "torch-cuda/torch/truncated_normal",
     "torch-cuda/vscale/truncated_normal", 1.0, "above"),
    # Issue 12: GPUs (ratios of times: below 1 means vscale is faster).
    *(
        (f"{b} vscale / trunc_normal_, {p}", f"{b}/{p}/truncated_normal", "torch-cuda/torch/truncated_normal", 1.0,
         "at most")
        for b in ("torch-cuda", "cupy") for p in ("vscale", "threefry")
    ),
    ("torch CUDA vscale / JAX jit, truncated_normal", "torch-cuda/vscale/truncated_normal",
     "torch-cuda/jax/truncated_normal", 1.0, "at most"),
    ("torch CUDA vscale / normal_", "torch-cuda/vscale/untruncated_normal", "torch-cuda/torch/untruncated_normal",
     1.0, "at most"),
    ("torch CUDA vscale / kaiming_uniform_", "torch-cuda/vscale/uniform", "torch-cuda/torch/uniform", 1.0, "at most"),
    ("CuPy vscale / standard_normal", "cupy/vscale/untruncated_normal", "cupy/cupy/untruncated_normal", 1.0,
     "at most"),
    ("CuPy vscale / random", "cupy/vscale/uniform", "cupy/cupy/uniform", 1.0, "at most"),
    # Issue 11: the portable stream against the native one, and a 1% region against the whole call.
    *(
        (f"{b} threefry / native, truncated_normal", f"{b}/threefry/truncated_normal", f"{b}/vscale/truncated_normal",
         4.0, "at most")
        for b in ("numpy", "torch")
    ),
    *(
        (f"{b} 1% region / whole call (threefry), {d}", f"{b}/region/{d}", f"{b}/threefry/{d}", 0.03, "at most")
        for b in ("numpy", "torch") for d in ("truncated_normal", "untruncated_normal", "uniform")
    ),
)  # fmt: skip

# The memory target applies to outputs over 64 MiB; float32 values are 4 bytes.
_MEMORY_TARGET_BYTES = 64 * 2**20
_MEMORY_LIMIT = 1.1


def _medians(report: dict[str, Any]) -> dict[tuple[str, int], float]:
    return {(r["case"], r["size"]): r["median_s"] for r in report["results"] if "median_s" in r}


def _met(value: float, limit: float, kind: str) -> bool:
    return {"at most": value <= limit, "at least": value >= limit, "above": value > limit}[kind]


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target measurable in ``report``, at every size >= 1e6, with its verdict."""
    medians = _medians(report)
    sizes = sorted({size for _, size in medians if size >= 10**6})
    rows = []
    for size in sizes:
        for label, top, bottom, limit, kind in _TARGETS:
            if (top, size) in medians and (bottom, size) in medians:
                value = medians[top, size] / medians[bottom, size]
                rows.append(dict(target=label, size=size, value=value, limit=f"{kind} {limit:g}",
                                 met=_met(value, limit, kind)))  # fmt: skip
    for r in report["results"]:
        ratio = r.get("peak_memory_x_output")
        if r["case"].split("/")[1] == "vscale" and ratio is not None and r["size"] * 4 > _MEMORY_TARGET_BYTES:
            rows.append(dict(target=f"peak memory, {r['case']}", size=r["size"], value=ratio,
                             limit=f"at most {_MEMORY_LIMIT}", met=ratio <= _MEMORY_LIMIT))  # fmt: skip
    return rows


def _floor_name(case: str) -> str:
    return case.split("/")[0] + "/floor/uniform"


def write_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: machine, per-size tables, speed-ups, targets."""
    medians = _medians(report)
    lines = ["# vscale benchmark", "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in report["machine"].items()]
    for backend, why in report["skipped_backends"].items():
        lines.append(f"- backend {backend} skipped: {why}")
    lines += ["", f"float32, median of {report['repeats']} calls after a warm-up; "
              "× floor = time / raw uniform draws of the same size on the same device.", ""]  # fmt: skip
    by_size: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in report["results"]:
        by_size[r["size"]].append(r)
    for size, rows in sorted(by_size.items()):
        lines += [f"## {size:,} values", "", "| case | ns/value | × floor | GB/s written | peak memory × output |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        for r in rows:
            if "median_s" not in r:
                lines.append(f"| {r['case']} | skipped: {r['skipped']} | | | |")
                continue
            floor = medians.get((_floor_name(r["case"]), size))
            ratio = f"{r['median_s'] / floor:.2f}" if floor else ""
            memory = r.get("peak_memory_x_output")
            lines.append(
                f"| {r['case']} | {r['median_s'] / size * 1e9:.2f} | {ratio} | {4 * size / r['median_s'] / 1e9:.1f} | "
                f"{'' if memory is None else f'{memory:.2f}'} |"
            )
        lines += ["", "vscale's speed-up over each peer (peer time / vscale time, same backend group):", ""]
        for r in rows:
            backend, library, distribution = r["case"].split("/")
            ours = medians.get((f"{backend}/vscale/{distribution}", size))
            if library not in ("vscale", "floor", "copy") and ours and "median_s" in r:
                lines.append(f"- {r['case']}: {r['median_s'] / ours:.2f}×")
        lines.append("")
    lines += ["## Targets", "", "| target | values | measured | limit | met |", "|---|---:|---:|---|---|"]
    for t in report.get("targets", []):
        lines.append(
            f"| {t['target']} | {t['size']:,} | {t['value']:.2f} | {t['limit']} | {'yes' if t['met'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"
