"""Plot a report's time per value against size, one panel per device group.

Usage: ``python -m vscale.bench.plot [report.json] [out.png]`` (defaults:
``benchmarks/results/report.json`` and ``docs/_static/performance.png``).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


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
    for ax, group in zip(axes[0], groups):
        for case, points in sorted(series[group].items()):
            sizes, ns = zip(*sorted(points))
            library = case.split("/")[1]
            style = {"vscale": "-o", "floor": "k--"}.get(library, ":x")
            ax.plot(sizes, ns, style, label=case, linewidth=2 if library == "vscale" else 1)
        ax.set(xscale="log", yscale="log", xlabel="values per call", ylabel="ns per value (median)",
               title=f"{group}: float32, lower is better")  # fmt: skip
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle(f"vscale vs peers ({report['machine'].get('cpus')} CPUs, {report['machine'].get('processor')})")
    fig.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    return out_path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = Path(args[0] if args else "benchmarks/results/report.json")
    out = Path(args[1] if len(args) > 1 else "docs/_static/performance.png")
    print(plot(report, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
