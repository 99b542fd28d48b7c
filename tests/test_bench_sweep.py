"""The size sweep of the benchmark harness (``python -m benchmarks --sweep``): the harness's own correctness.

Tiny settings only (NumPy, a couple of sizes, two rounds): these tests check the report's
structure, the arithmetic of ratios and targets, the interleaving and the output files,
never how fast anything is.
"""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.harness import sweep
from benchmarks.harness.run import main as bench_main

SIZES = (10, 4096)


@pytest.fixture(scope="module")
def report():
    return sweep.run_sweep(["numpy"], SIZES, rounds=2, min_batch_s=0.001, in_process=True)


def test_shapes_hold_n_values():
    assert sweep.sweep_shape(10) == (10,)
    assert sweep.sweep_shape(4096) == (64, 64)
    assert sweep.sweep_shape(36864) == (192, 192)
    assert sweep.sweep_shape(262144) == (512, 512)
    assert sweep.sweep_shape(4096 * 4096) == (4096, 4096)
    assert sweep.sweep_shape(10**8) == (10000, 10000)
    for size in sweep.SWEEP_SIZES + sweep.LONG_SIZES:
        assert math.prod(sweep.sweep_shape(size)) == size


def test_report_structure(report):
    assert report["kind"] == "sweep" and report["dtype"] == "float32"
    assert report["backends"] == ["numpy"] and report["sizes"] == list(SIZES) and report["rounds"] == 2
    json.dumps(report)  # the report is plain JSON
    results = report["results"]
    assert [(r["size"], r["distribution"]) for r in results] == [
        (size, d) for size in SIZES for d in ("truncated_normal", "untruncated_normal", "uniform")
    ]
    for record in results:
        assert "error" not in record, record.get("error")
        assert record["backend"] == "numpy"
        assert math.prod(record["shape"]) == record["size"]
        assert [p["peer"] for p in record["peers"]] == list(sweep.PEERS["numpy", record["distribution"]])
        for timing in (record["vscale"], *record["peers"]):
            assert timing["loops"] >= 1
            assert len(timing["times_s"]) == 2 and all(t > 0 for t in timing["times_s"])
            assert timing["q1_s"] <= timing["median_s"] <= timing["q3_s"]
            assert timing["ns_per_value"] == pytest.approx(timing["median_s"] / record["size"] * 1e9)


def test_ratio_is_vscale_time_over_peer_time(report):
    for record in report["results"]:
        ours = record["vscale"]["median_s"]
        for peer in record["peers"]:
            assert peer["ratio"] == pytest.approx(ours / peer["median_s"], rel=1e-12)
            round_ratios = [a / b for a, b in zip(record["vscale"]["times_s"], peer["times_s"], strict=True)]
            assert min(round_ratios) <= peer["ratio_q1"] <= peer["ratio_q3"] <= max(round_ratios)


def test_targets_follow_the_measurements(report):
    rows = report["targets"]
    by_key = {(r["target"], r["size"]): r for r in rows}
    # n = 10: vscale's own time per call, for each distribution.
    for d in ("truncated_normal", "untruncated_normal", "uniform"):
        row = by_key[f"NumPy {d}, time per call", 10]
        record = next(r for r in report["results"] if (r["size"], r["distribution"]) == (10, d))
        assert row["value"] == record["vscale"]["median_s"] and row["limit"] == 20e-6
        assert row["met"] == (row["value"] <= 20e-6)
    # n = 4096: vscale against NumPy's own draws.
    for label, distribution, peer in (("NumPy untruncated_normal / standard_normal", "untruncated_normal",
                                       "standard_normal"),
                                      ("NumPy uniform / Generator.random", "uniform", "Generator.random")):  # fmt: skip
        row = by_key[label, 4096]
        record = next(r for r in report["results"] if (r["size"], r["distribution"]) == (4096, distribution))
        ratio = next(p["ratio"] for p in record["peers"] if p["peer"] == peer)
        assert row["value"] == ratio and row["met"] == (ratio <= 1.0)
    # Nothing about torch (not swept), nor the 4096² targets (not measured).
    assert all(r["backend"] == "numpy" for r in rows)
    assert all(r["size"] in SIZES for r in rows)
    assert len(rows) == 3 + 2


def _record(backend, distribution, size, vscale_s, peers):
    return {
        "backend": backend, "distribution": distribution, "size": size, "shape": list(sweep.sweep_shape(size)),
        "vscale": {"median_s": vscale_s},
        "peers": [{"peer": name, "median_s": t, "ratio": vscale_s / t} for name, t in peers.items()],
    }  # fmt: skip


def test_speed_up_targets_invert_the_ratio():
    big = 4096 * 4096
    results = [
        _record("torch", "truncated_normal", big, 0.2, {"trunc_normal_": 1.0}),  # 5x faster
        _record("numpy", "truncated_normal", big, 0.3, {"standard_normal": 0.2, "Generator.random": 0.1}),
    ]
    rows = {r["target"]: r for r in sweep.sweep_targets(results)}
    speed_up = rows["torch CPU truncated_normal, speed-up over trunc_normal_"]
    assert speed_up["value"] == pytest.approx(5.0) and speed_up["met"]
    assert rows["torch CPU truncated_normal / trunc_normal_"]["value"] == pytest.approx(0.2)
    floor = rows["NumPy truncated_normal / raw uniform (Generator.random)"]
    assert floor["value"] == pytest.approx(3.0) and not floor["met"]  # 3.0x the raw uniform draws > 2.5
    results[0]["peers"][0].update(median_s=0.5, ratio=0.4)  # 2.5x faster: short of 4x
    rows = {r["target"]: r for r in sweep.sweep_targets(results)}
    assert not rows["torch CPU truncated_normal, speed-up over trunc_normal_"]["met"]


def test_rounds_interleave_in_rotating_order(monkeypatch):
    monkeypatch.setattr(sweep, "calibrate", lambda call, min_batch_s: 1)
    order: list[str] = []
    calls = {name: (lambda name=name: order.append(name)) for name in ("vscale", "a", "b")}
    measured = sweep.time_interleaved(calls, rounds=3, min_batch_s=0.0)
    assert order[:3] == ["vscale", "a", "b"]  # one warm-up call each
    assert order[3:] == ["vscale", "a", "b", "a", "b", "vscale", "b", "vscale", "a"]
    assert all(len(m["times_s"]) == 3 and m["loops"] == 1 for m in measured.values())


def test_failures_are_reported_not_raised(monkeypatch):
    def broken(backend, distribution, shape):
        raise RuntimeError("no such sampler")

    monkeypatch.setattr(sweep, "sweep_calls", broken)
    record = sweep.measure_group("numpy", "uniform", 10, rounds=2, min_batch_s=0.001)
    assert record["error"] == "RuntimeError: no such sampler"
    report = {"dtype": "float32", "rounds": 2, "min_batch_s": 0.001, "machine": {}, "skipped_backends": {},
              "backends": ["numpy"], "results": [record], "targets": sweep.sweep_targets([record])}  # fmt: skip
    assert report["targets"] == []
    assert "failed: RuntimeError: no such sampler" in sweep.format_sweep(report)


def test_table_and_targets_are_printed(report):
    text = sweep.format_sweep(report)
    assert "vscale per call" in text and "vscale/peer" in text and "standard_normal" in text
    assert "Targets:" in text and ("PASS" in text or "MISS" in text)
    assert "issue" not in text.lower()
    assert sum(line.lstrip().startswith(("PASS", "MISS")) for line in text.splitlines()) == len(report["targets"])


def test_command_writes_json_only_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["--sweep", "--sizes", "10", "--backends", "numpy", "--distributions", "uniform", "--repeats", "2",
            "--min-batch", "0.001", "--no-progress"]  # fmt: skip
    assert bench_main(argv) == 0
    assert "Targets:" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # no report without --out
    out = tmp_path / "results" / "sweep.json"
    assert bench_main([*argv, "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["kind"] == "sweep" and [r["distribution"] for r in written["results"]] == ["uniform"]
    assert bench_main([*argv, "--out", str(tmp_path / "dir")]) == 0
    assert (tmp_path / "dir" / "sweep.json").is_file()


def test_sweep_options_need_sweep():
    with pytest.raises(SystemExit) as raised:
        bench_main(["--long"])
    assert raised.value.code == 2


def test_plot(report, tmp_path):
    pytest.importorskip("matplotlib")
    from benchmarks.harness.plot import plot_sweep

    out = plot_sweep(report, tmp_path / "sweep.png")
    assert out == tmp_path / "sweep.png" and out.stat().st_size > 0
