"""The ``vscale`` command, run as a user would: real subprocesses."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import vscale

ROOT = Path(__file__).resolve().parents[1]


def vscale_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "vscale", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def test_show_he_normal_text():
    run = vscale_cli("show", "he_normal", "--shape", "3", "3", "64", "128", "--seed", "0")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "fan_in=576" in out and "fan_out=1152" in out and "n=576" in out
    stddev = math.sqrt(2 / 576)
    assert f"{stddev:.6g}" in out
    assert f"{2 * stddev / 0.87962566103423978:.6g}" in out  # the support's half-width
    assert "histogram" in out and "█" in out and "|" in out
    assert "KS" in out


def test_show_json_matches_the_library():
    run = vscale_cli("show", "glorot_uniform", "--shape", "64", "32", "--seed", "3", "--json")
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout)
    assert (facts["fan_in"], facts["fan_out"], facts["n"]) == (64, 32, 48.0)
    limit = math.sqrt(3 / 48)
    assert facts["support"] == pytest.approx([-limit, limit], rel=1e-12)
    stats = facts["statistics"]
    assert stats["count"] == 64 * 32
    assert -limit <= stats["min"] and stats["max"] <= limit
    assert abs(stats["std_ratio"] - 1) < 5 * math.sqrt(0.8 / (4 * 2048))  # 5 s.e., uniform kurtosis 1.8
    assert sum(facts["histogram"]["observed"]) == 64 * 32


def test_show_spec_and_json_config_identifiers():
    spec = vscale_cli("show", 'VarianceScaling(scale=0.5, mode="fan_out", distribution="untruncated_normal")',
                      "--shape", "10", "20", "--json")  # fmt: skip
    assert spec.returncode == 0, spec.stderr
    facts = json.loads(spec.stdout)
    assert facts["n"] == 20.0 and facts["support"] == ["-inf", "inf"]
    config = vscale_cli("show", '{"class_name": "HeUniform", "config": {"seed": 5}}', "--shape", "8", "8", "--json")
    assert config.returncode == 0, config.stderr
    assert json.loads(config.stdout)["config"]["seed"] == 5


def test_show_low_precision_reports_distinct_values():
    torch = pytest.importorskip("torch")
    del torch
    run = vscale_cli(
        "show", "lecun_normal", "--shape", "256", "256", "--backend", "torch", "--dtype", "bfloat16", "--json"
    )
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout)
    assert facts["dtype"] == "bfloat16"
    assert facts["statistics"]["distinct_values"] > 1000


def test_plot_writes_a_png_or_says_what_is_missing(tmp_path):
    target = tmp_path / "he.png"
    run = vscale_cli("show", "he_uniform", "--shape", "32", "32", "--plot", str(target))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert run.returncode == 2
        assert "matplotlib" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    else:
        assert run.returncode == 0, run.stderr
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args",
    [
        ("show", "no_such_initializer", "--shape", "3"),
        ("show", "he_normal"),
        ("show", "he_normal", "--shape", "-3"),
        ("show", "he_normal", "--shape", "x"),
        ("show", "he_normal", "--shape", "3", "--dtype", "int8"),
        ("show", "he_normal", "--shape", "3", "--backend", "jax"),
        ("show", "he_normal", "--shape", "3", "--device", "cuda:9"),
        ("show", "VarianceScaling(scale=-1)", "--shape", "3"),
        ("show", "VarianceScaling(scale=__import__('os'))", "--shape", "3"),
        ("show", "{not json", "--shape", "3"),
        ("frobnicate",),
        (),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(args):
    run = vscale_cli(*args)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


@pytest.mark.parametrize("args", [("--help",), ("show", "--help")])
def test_help_is_complete(args):
    run = vscale_cli(*args)
    assert run.returncode == 0
    for word in (("show", "bench") if args == ("--help",) else ("--shape", "--backend", "--device", "--dtype", "--seed",
                                                                  "--layout", "--groups", "--plot", "--json")):  # fmt: skip
        assert word in run.stdout


def test_version():
    run = vscale_cli("--version")
    assert run.returncode == 0 and run.stdout.startswith(f"vscale {vscale.__version__} (")
    assert "kernels" in run.stdout  # which ones run here (vscale info says more)


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "he_normal", "--shape", "4", "4", "--bins", "10000000000"), "--bins must be between 2 and"),
        (("show", "he_normal", "--shape", "4", "4", "--plot", "/nonexistent/dir/x.png"), "does not exist"),
        (("show", "HeNormal(**{'seed': 1})", "--shape", "2", "2"), "** is not supported"),
        (("show", "HeNormal(seed=1, seed=2)", "--shape", "2", "2"), "more than once"),
        (("show", "VarianceScaling(" * 300 + ")" * 300, "--shape", "2", "2"), "IDENTIFIER"),
        (("show", '{"scale": ' * 3000 + "1" + "}" * 3000, "--shape", "2", "2"), "error"),
        (("show", "he_normal(" + "1, " * 20000 + ")", "--shape", "2", "2"), "error"),
        (("bench", "--sizes", "abc"), "comma-separated sizes"),
        (("bench", "--sizes", "0"), "between 1 and 2**28"),
        (("bench", "--rounds", "0"), "rounds must be between 1 and 100"),
        (("bench", "--backend", "nope"), "invalid choice"),
    ],
)
def test_bad_input_gets_one_line_and_status_2(args, message):
    run = vscale_cli(*args)
    assert run.returncode == 2, run.stderr[-500:]
    assert "Traceback" not in run.stderr and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr[-500:]


@pytest.mark.parametrize("library", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_show_complex_reports_the_modulus(library, dtype):
    run = vscale_cli("show", "he_normal", "--shape", "128", "128", "--dtype", dtype, "--backend", library,
                     "--seed", "0", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr
    facts = json.loads(run.stdout)
    stats = facts["statistics"]
    assert facts["support"][0] == 0.0 and stats["max_modulus"] <= facts["support"][1]
    assert abs(stats["second_moment_ratio"] - 1) < 0.05  # 16384 values: se ~ 0.6%
    assert abs(stats["real_std"] / stats["part_std_expected"] - 1) < 0.05
    assert abs(stats["imag_std"] / stats["part_std_expected"] - 1) < 0.05
    assert stats["ks_pvalue"] > 1e-4 and stats["nan_or_inf"] == 0
    text = vscale_cli("show", "he_uniform", "--shape", "16", "16", "--dtype", dtype, "--backend", library)
    assert text.returncode == 0 and "E|w|^2" in text.stdout and "Traceback" not in text.stderr


def test_info_says_which_kernels_run():
    from vscale.kernels import host as _host_kernels

    run = vscale_cli("info", "--json")
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout)
    assert facts["kernels"]["compiled"] is (_host_kernels._speedups is not None)
    assert facts["kernels"]["kernels"] == len(_host_kernels.kernel_names())
    text = vscale_cli("info")
    assert text.returncode == 0 and "CPU kernels:" in text.stdout
    turned_off = subprocess.run(
        [sys.executable, "-m", "vscale", "info"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ, VSCALE_KERNELS="0", PYTHONPATH=str(ROOT)),
    )
    assert "array operations" in turned_off.stdout
    version = vscale_cli("--version")
    assert version.stdout.startswith(f"vscale {vscale.__version__} (")


def test_bench_is_a_quick_check(tmp_path):
    run = vscale_cli(
        "bench", "--sizes", "4096", "--rounds", "1", "--backend", "numpy", "--json", str(tmp_path / "b.json")
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) <= 40 and "numpy native" in lines[3]
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert {(r["distribution"], r["prng"]) for r in rows} == {
        (d, p) for d in ("truncated_normal", "untruncated_normal", "uniform") for p in ("native", "threefry")
    }
    assert {r["peer"] for r in rows} == {"standard_normal", "random"}  # the frameworks' own functions, never vscale
