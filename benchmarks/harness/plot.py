"""Plot a report's time per value against size, one panel per device group.

Usage: ``python -m benchmarks.harness.plot [report.json] [out.png]`` (defaults:
``benchmarks/results/report.json`` and ``benchmarks/results/performance.png``).  A size sweep's
JSON (``python -m benchmarks --sweep --out sweep.json``) is plotted with :func:`plot_sweep`.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def plot(report_path: Path, out_path: Path) -> Path:
    """Write the figure for ``report_path`` to ``out_path``; return ``out_path``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    report = json.loads(report_path.read_text())
    series: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in report["results"]:
        if "median_s" in r:
            series[r["group"]][r["case"]].append((r["size"], r["median_s"] / r["size"] * 1e9))
    groups = sorted(series)
    fig, axes = plt.subplots(1, len(groups), figsize=(7 * len(groups), 5.5), squeeze=False)
    for ax, group in zip(axes[0], groups, strict=False):
        for case, points in sorted(series[group].items()):
            sizes, ns = zip(*sorted(points), strict=False)
            library = case.split("/")[1]
            style = {"vscale": "-o", "floor": "k--"}.get(library, ":x")
            ax.plot(sizes, ns, style, label=case, linewidth=2 if library == "vscale" else 1)
        ax.set(xscale="log", yscale="log", xlabel="values per call", ylabel="ns per value (median)",
               title=f"{group}: float32, lower is better")  # fmt: skip
        ax.grid(True, which="both", alpha=0.3)
        # Below the axes, off the data.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7, ncol=2, frameon=False)
    fig.suptitle(f"vscale vs peers ({report['machine'].get('cpus')} CPUs, {report['machine'].get('processor')})")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110, bbox_inches="tight")  # "tight": keeps the legends in the image
    return out_path


def plot_sweep(report: dict[str, Any] | Path, out_path: Path) -> Path | None:
    """Plot a size sweep: ns per value against values per call, log-log, one panel per backend.

    Parameters
    ----------
    report : dict or Path
        The sweep's report (:func:`benchmarks.harness.sweep.run_sweep`) or its JSON file.
    out_path : Path
        The image to write.

    Returns
    -------
    Path or None
        ``out_path``, or None where Matplotlib is not installed (nothing is written).

    Notes
    -----
    vscale's lines are solid, one colour per distribution; each peer's is dashed, in the
    colour of the distribution it is the counterpart of (a peer timed against two
    distributions, like ``Generator.random``, plots the median of its measurements).
    The legends sit below the axes, off the data.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    data: dict[str, Any] = json.loads(report.read_text()) if isinstance(report, Path) else report
    ours: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    theirs: dict[str, dict[str, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    paired: dict[str, str] = {}  # peer -> the distribution it was last timed against, for its colour
    for r in data["results"]:
        if "error" in r:
            continue
        ours[r["backend"]][r["distribution"]].append((r["size"], r["vscale"]["ns_per_value"]))
        for peer in r["peers"]:
            theirs[r["backend"]][peer["peer"]][r["size"]].append(peer["ns_per_value"])
            paired[peer["peer"]] = r["distribution"]
    backends = [b for b in data["backends"] if b in ours]
    if not backends:
        return None
    colours = {"truncated_normal": "tab:blue", "untruncated_normal": "tab:orange", "uniform": "tab:green"}
    titles = {"numpy": "NumPy", "torch": "torch CPU"}
    fig, axes = plt.subplots(1, len(backends), figsize=(6.5 * len(backends), 5.2), squeeze=False)
    for ax, backend in zip(axes[0], backends, strict=False):
        for distribution, points in ours[backend].items():
            sizes, ns = zip(*sorted(points), strict=False)
            ax.plot(sizes, ns, "-o", color=colours.get(distribution), linewidth=2, label=f"vscale {distribution}")
        for peer, by_size in sorted(theirs[backend].items()):
            counts = sorted(by_size)
            ax.plot(counts, [statistics.median(by_size[n]) for n in counts], "--s", color=colours.get(paired[peer]),
                    linewidth=1.2, markersize=4, alpha=0.8, label=f"peer: {peer}")  # fmt: skip
        ax.set(xscale="log", yscale="log", xlabel="values per call (n)", ylabel="ns per value (median)",
               title=f"{titles.get(backend, backend)}: {data.get('dtype', 'float32')}, lower is better")  # fmt: skip
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    machine = data.get("machine", {})
    fig.suptitle(f"vscale size sweep ({machine.get('cpus')} CPUs, {machine.get('processor')}; "
                 f"{data.get('rounds')} interleaved rounds)")  # fmt: skip
    fig.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110, bbox_inches="tight")  # "tight": keeps the legends below the axes
    plt.close(fig)
    return out_path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = Path(args[0] if args else "benchmarks/results/report.json")
    out = Path(args[1] if len(args) > 1 else "benchmarks/results/performance.png")
    if json.loads(report.read_text()).get("kind") == "sweep":
        written = plot_sweep(report, out)
        print(written if written else "matplotlib is not installed")
        return 0 if written else 1
    print(plot(report, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
