"""The ``vscale`` command, run as a user would: real subprocesses."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import vscale
from vscale.cli import bench, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def vscale_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "vscale", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def assert_usage_error(stderr: str, returncode: int, message: str = "") -> None:
    """The one error style: a one-line usage, ``vscale: error: ...`` naming ``message``, status 2."""
    assert returncode == 2, stderr[-500:]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 2, stderr[-500:]
    assert lines[0].startswith("usage: vscale"), lines[0]
    assert lines[1].startswith("vscale: error: "), lines[1]
    assert message in lines[1], lines[1]


def error_of(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``vscale ARGS`` in this process; assert the error style and return the message line."""
    code = main(list(args))
    stderr = capsys.readouterr().err
    assert_usage_error(stderr, code)
    return stderr.strip().splitlines()[1]


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
        assert_usage_error(run.stderr, run.returncode, "matplotlib")
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
        ("show", "he_normal", "--shape", "3", "--backend", "jxa"),
        ("show", "he_normal", "--shape", "3", "--device", "cuda:9"),
        ("show", "VarianceScaling(scale=-1)", "--shape", "3"),
        ("show", "VarianceScaling(scale=__import__('os'))", "--shape", "3"),
        ("show", "{not json", "--shape", "3"),
        ("frobnicate",),
        (),
    ],
)
def test_bad_arguments_give_the_usage_line_and_status_2(capsys, args):
    error_of(capsys, *args)


def test_the_installed_command_prints_the_same_two_lines():
    run = vscale_cli("show", "he_nromal", "--shape", "3")
    assert_usage_error(run.stderr, run.returncode, "did you mean 'he_normal'?")
    assert run.stderr.splitlines()[0].startswith("usage: vscale show IDENTIFIER --shape N")
    assert run.stdout == ""


@pytest.mark.parametrize(
    "args, suggestion",
    [
        (("shwo",), "did you mean 'show'?"),
        (("bnech",), "did you mean 'bench'?"),
        (("show", "he_nromal", "--shape", "3"), "did you mean 'he_normal'?"),
        (("show", "HeNromal(seed=1)", "--shape", "3"), "did you mean 'HeNormal'?"),
        (("show", '{"class_name": "GlorotUnifrom"}', "--shape", "3"), "did you mean 'GlorotUniform'?"),
        (("show", "VarianceScaling(mode='fan_inn')", "--shape", "3"), "did you mean 'fan_in'?"),
        (("show", "VarianceScaling(distribution='unifrom')", "--shape", "3"), "did you mean 'uniform'?"),
        (("show", '{"prng": "threfry"}', "--shape", "3"), "did you mean 'threefry'?"),
        (("show", "he_normal", "--shape", "3", "--backend", "jxa"), "did you mean 'jax'?"),
        (("show", "he_normal", "--shape", "3", "--backend", "TORCH"), "did you mean 'torch'?"),
        (("show", "he_normal", "--shape", "3", "--dtype", "flaot32"), "did you mean 'float32'?"),
        (("show", "he_normal", "--shape", "3", "--dtype", "complex65"), "did you mean 'complex64'?"),
        (("show", "he_normal", "--shape", "3", "--layout", "torhc"), "did you mean 'torch'?"),
        (("bench", "--backend", "numpi"), "did you mean 'numpy'?"),
    ],
)
def test_misspelt_choices_get_the_closest_one(capsys, args, suggestion):
    assert suggestion in error_of(capsys, *args)


@pytest.mark.parametrize(
    "args, allowed",
    [
        (("bench", "--repeats", "0"), "from 1 to 100; received 0"),
        (("bench", "--rounds", "101"), "from 1 to 100; received 101"),
        (("bench", "--repeats", "x"), "from 1 to 100; received 'x'"),
        (("bench", "--sizes", "0"), "from 1 to 268,435,456"),
        (("bench", "--sizes", "4096,268435457"), "from 1 to 268,435,456"),
        (("show", "he_normal", "--shape", "-3"), "from 0 to 134,217,728; received -3"),
        (("show", "he_normal", "--shape", "100000", "100000"), "at most 134,217,728 values in all"),
        (("show", "he_normal", "--shape", "3", "--seed", "-1"), ">= 0; received -1"),
        (("show", "he_normal", "--shape", "3", "--seed", "1" * 5000), ">= 0; received '111"),
        (("show", "he_normal", "--shape", "3", "--groups", "0"), ">= 1; received 0"),
        (("show", "he_normal", "--shape", "3", "--bins", "1"), "from 2 to 10,000; received 1"),
    ],
)
def test_numbers_out_of_range_name_the_range(capsys, args, allowed):
    assert allowed in error_of(capsys, *args)


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "VarianceScaling(scale=-1)", "--shape", "3"), "`scale`"),
        (("show", "he_normal", "--shape", "3", "--backend", "array_api_strict", "--dtype", "bfloat16"), "`dtype`"),
        (("show", "he_normal", "--shape", "3", "--backend", "torch", "--device", "tpu"), "`device`"),
        (("show", "HeNormal(scale=3)", "--shape", "3"), "takes only seed"),
        (("show", "he_normal", "--shape", "2", "2", "--layout", "torch", "--groups", "3"), "groups"),
    ],
)
def test_the_library_refusals_take_the_same_path(capsys, args, message):
    assert message in error_of(capsys, *args)


@pytest.mark.parametrize("command", ["show", "bench"])
def test_a_framework_not_installed_is_one_error(capsys, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed: imports fail
    args = ("show", "he_normal", "--shape", "3", "--backend", "torch") if command == "show" else (
        "bench", "--backend", "torch")  # fmt: skip
    assert "not installed" in error_of(capsys, *args)


def test_no_gpu_is_one_error(capsys):
    cupy = pytest.importorskip("cupy")
    try:
        usable = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device: what this test wants
        usable = False
    if usable:
        pytest.skip("a GPU is usable here")
    assert "GPU" in error_of(capsys, "show", "he_normal", "--shape", "3", "--backend", "cupy")
    assert "cupy cannot run here" in error_of(capsys, "bench", "--backend", "cupy")


@pytest.mark.parametrize("library", ["jax", "array_api_strict", "dask"])
def test_every_cpu_backend_can_be_shown(capsys, library):
    pytest.importorskip(library)
    assert main(["show", "he_normal", "--shape", "16", "8", "--backend", library, "--seed", "0", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert (facts["backend"], facts["fan_in"], facts["statistics"]["count"]) == (library, 16, 128)


def test_jax_bfloat16_and_complex_are_shown(capsys):
    pytest.importorskip("jax")
    for dtype in ("bfloat16", "complex64"):
        assert main(["show", "he_normal", "--shape", "64", "64", "--backend", "jax", "--dtype", dtype]) == 0
        assert "jax on cpu" in capsys.readouterr().out


def test_help_is_complete():
    """Every option of every command has a help text, and it names each of its choices."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in [("vscale", parser), *commands.choices.items()]:
        assert "\n" not in command.format_usage().strip(), name  # one usage line, for the errors
        for action in command._actions:
            assert action.help, (name, action.dest)
            if action.choices is not None:
                text = command.format_help()
                assert all(str(choice) in text for choice in action.choices), (name, action.dest)
    show = commands.choices["show"].format_help()
    assert "complex64" in show and "complex128" in show and "jax" in show


@pytest.mark.parametrize("args", [("--help",), ("show", "--help"), ("bench", "--help"), ("info", "--help")])
def test_help_prints_and_exits_0(args):
    run = vscale_cli(*args)
    assert run.returncode == 0 and run.stdout.startswith("usage: vscale") and run.stderr == ""


def test_version():
    run = vscale_cli("--version")
    assert run.returncode == 0 and run.stdout.startswith(f"vscale {vscale.__version__} (")
    assert "kernels" in run.stdout  # which ones run here (vscale info says more)


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "he_normal", "--shape", "4", "4", "--bins", "10000000000"), "from 2 to 10,000"),
        (("show", "he_normal", "--shape", "4", "4", "--plot", "/nonexistent/dir/x.png"), "does not exist"),
        (("show", "he_normal", "--shape", "4", "4", "--plot", str(ROOT)), "argument --plot: "),
        (("show", "HeNormal(**{'seed': 1})", "--shape", "2", "2"), "** is not supported"),
        (("show", "HeNormal(seed=1, seed=2)", "--shape", "2", "2"), "more than once"),
        (("show", "VarianceScaling(" * 300 + ")" * 300, "--shape", "2", "2"), "IDENTIFIER"),
        (("show", '{"scale": ' * 3000 + "1" + "}" * 3000, "--shape", "2", "2"), "error"),
        (("show", "he_normal(" + "1, " * 20000 + ")", "--shape", "2", "2"), "error"),
        (("bench", "--sizes", "abc"), "comma-separated numbers of values"),
        (("bench", "--backend", "nope"), "invalid choice 'nope'"),
    ],
)
def test_bad_input_gets_the_usage_line_and_status_2(capsys, args, message):
    assert message in error_of(capsys, *args)


@pytest.mark.parametrize(
    "path, message",
    [
        ("/nonexistent/dir/out.json", "the folder '/nonexistent/dir' does not exist"),
        (str(ROOT), "is a directory"),
        (str(ROOT / "README.md" / "out.json"), "README.md' is a file, not a folder"),
    ],
)
def test_bench_refuses_a_json_path_it_cannot_write_before_measuring(capsys, path, message):
    code = main(["bench", "--json", path])
    captured = capsys.readouterr()
    assert_usage_error(captured.err, code, message)
    assert captured.out == ""  # refused before the header, not after minutes of measuring


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


def test_bench_prints_one_short_table_of_ratios(tmp_path):
    """The default table's structure (two sizes, every installed framework), kept fast by
    small sizes and one repeat; no timing is asserted."""
    run = vscale_cli("bench", "--sizes", "10,4096", "--repeats", "1", "--json", str(tmp_path / "b.json"))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) <= 40 and lines[-1].startswith("measured in ")
    installed = [b for b in bench.DEFAULT_BACKENDS if importlib.util.find_spec(b) is not None]
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    cases = [(size, d, b) for size in (10, 4096) for d in bench.DISTRIBUTIONS for b in installed]
    assert [(r["size"], r["distribution"], r["backend"], r["prng"]) for r in rows] == [
        (*case, prng) for case in cases for prng in bench.PRNGS
    ]
    table = [line for line in lines if line.lstrip().startswith(("10 ", "4096 "))]
    assert len(table) == len(cases)
    for line, (size, distribution, backend) in zip(table, cases, strict=True):
        own = bench.PEERS[backend][distribution]
        assert line.split()[:3] == [str(size), distribution, f"{backend}:"] and line.split()[3] == own
        assert line.count("x (") == len(bench.PRNGS)  # a ratio with its spread per vscale stream
    # Peers are the frameworks' own functions; vscale's streams are columns, never peers.
    assert {r["peer"] for r in rows} <= {f for peers in bench.PEERS.values() for f in peers.values()}
    assert not {r["peer"] for r in rows} & {"native", "threefry", "vscale"}


@pytest.mark.parametrize("setting", ["1", "3", " 2 ", "0", "-2", "1.5", "abc", "", "٣"])
def test_bench_states_the_threads_it_runs_with(monkeypatch, capsys, setting):
    """The first line gives the engine's thread count under any VSCALE_NUM_THREADS, ignored
    settings (zero, negative, fractional, non-ASCII digits) included; no timing is done."""
    monkeypatch.setenv("VSCALE_NUM_THREADS", setting)
    monkeypatch.setattr(bench, "paired", lambda calls, rounds, number=None: {name: [1.0] * rounds for name in calls})
    monkeypatch.setattr(bench, "_contenders", lambda *case: {"native": None, "threefry": None, "peer": None})
    assert main(["bench", "--backend", "numpy", "--sizes", "10"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    usable_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    expected = int(setting) if setting.strip() in {"1", "2", "3"} else usable_cpus
    assert header.endswith(f"vscale threads: {expected}"), header
    assert expected == vscale.engine.plan.thread_count()


def test_bench_modes_time_a_case_the_same_way(monkeypatch, capsys):
    """Default and --sweep hand the same case (backend, distribution, size) to the same
    timing code with the same contenders and repeats: the same figure, within its spread."""
    seen: dict[str, list[tuple[Any, ...]]] = {}

    def spy(calls, rounds, number=None):
        seen[mode].append((tuple(calls), rounds, number))
        return {name: [1.0] * rounds for name in calls}

    def contenders(backend, distribution, size):
        seen[mode].append((backend, distribution, size))
        return {"native": None, "threefry": None, "peer": None}

    monkeypatch.setattr(bench, "paired", spy)
    monkeypatch.setattr(bench, "_contenders", contenders)
    for mode, args in (("default", []), ("sweep", ["--sweep"]), ("long", ["--long"])):
        seen[mode] = []
        assert main(["bench", "--backend", "numpy", *args]) == 0
    assert set(bench.SIZES) < set(bench.SWEEP_SIZES)
    pairs = dict(zip(seen["sweep"][::2], seen["sweep"][1::2], strict=True))
    for case, timing in zip(seen["default"][::2], seen["default"][1::2], strict=True):
        assert pairs[case] == timing == (("native", "threefry", "peer"), bench.DEFAULT_REPEATS, None)
    assert seen["long"] == seen["sweep"]
    out = capsys.readouterr().out
    assert "1.00x (1.00-1.00)" in out
