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

import vscale

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_model_init_benchmark_smoke(tmp_path):
    out = str(tmp_path / "out.json")
    run = _run("benchmarks.model_init", "--quick", "--repeats", "1", "--threads", "1", "--json", out)
    assert run.returncode == 0, run.stderr
    for contender in ("hf", "timm", "trunc2sigma", "vscale-trunc-native", "vscale-normal-threefry"):
        assert contender in run.stdout
    assert "llama" in run.stdout and "vit" in run.stdout
    assert json.loads((tmp_path / "out.json").read_text())["models"]
    # The header states the threads vscale ran with (the engine's count, not "default").
    assert f"vscale {vscale.__version__} (threads: 1)" in run.stdout.splitlines()[0]


def test_kernels_benchmark_smoke(tmp_path):
    run = _run("benchmarks.kernels", "--quick", "--json", str(tmp_path / "out.json"))
    assert run.returncode == 0, run.stderr
    assert "ratio to the framework's own function" in run.stdout and "peak memory" in run.stdout
    report = json.loads((tmp_path / "out.json").read_text())
    assert {row["backend"] for row in report["speed"]} == {"numpy", "torch"}
    assert all(row["peak_over_output"] > 0.9 for row in report["memory"])


def test_torch_dropin_benchmark_smoke(tmp_path):
    run = _run("benchmarks.torch_dropin", "--size", "4096", "--repeats", "1", "--json", str(tmp_path / "out.json"))
    assert run.returncode == 0, run.stderr
    header, _, *rows = run.stdout.splitlines()
    assert "vscale threads:" in header
    assert any("refused" in row for row in rows) and any(row.endswith("x") for row in rows)
    assert json.loads((tmp_path / "out.json").read_text())


def test_array_path_benchmark_smoke():
    run = _run("benchmarks.array_path", "--rounds", "1")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines[-2:]] == ["native", "threefry"]
    assert all(line.count("x)") == 3 for line in lines[-2:])


def test_dask_blocks_benchmark_smoke():
    run = _run("benchmarks.dask_blocks", "--repeats", "1")
    assert run.returncode == 0, run.stderr
    assert "gathered to the client" in run.stdout and run.stdout.count("piece") == 6


def test_accuracy_benchmark_smoke():
    run = _run("benchmarks.accuracy", "--only", "peers")
    assert run.returncode == 0, run.stderr
    assert "distinct" in run.stdout and "disagree on" in run.stdout
