"""The benchmark scripts run and print their tables (smoke runs: small sizes, one or two rounds).

Their figures are not checked here: timings belong in benchmarks, not in tests on a noisy
machine. What is checked is that the commands the docs name still work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_model_init_benchmark_smoke(tmp_path):
    run = _run("benchmarks.model_init", "--quick", "--repeats", "1", "--json", str(tmp_path / "out.json"))
    assert run.returncode == 0, run.stderr
    for contender in ("hf", "timm", "trunc2sigma", "vscale-trunc-native", "vscale-normal-threefry"):
        assert contender in run.stdout
    assert "llama" in run.stdout and "vit" in run.stdout
    assert json.loads((tmp_path / "out.json").read_text())["models"]


def test_kernels_benchmark_smoke(tmp_path):
    run = _run("benchmarks.kernels", "--quick", "--json", str(tmp_path / "out.json"))
    assert run.returncode == 0, run.stderr
    assert "ratio to the framework's own function" in run.stdout and "peak memory" in run.stdout
    report = json.loads((tmp_path / "out.json").read_text())
    assert {row["backend"] for row in report["speed"]} == {"numpy", "torch"}
    assert all(row["peak_over_output"] > 0.9 for row in report["memory"])
