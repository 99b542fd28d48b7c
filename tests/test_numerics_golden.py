"""Golden values: seeded outputs compared bit for bit with a committed file (issue 3, item 7).

tests/golden/values.json holds, per backend, distribution, dtype and seed, the exact bytes of
the first two calls of a seeded initializer on a (3, 4) weight (and SHA-256 digests of a
131 078-value weight that spans several chunks), for the native streams and for
``prng="threefry"``.  The portable stream's bits are one on every backend, so the GPU
backends' portable entries are recorded from their host backend without a GPU and checked
when one is lent; their native entries can only be recorded on a GPU.  A failure here means that the values users
get for a given seed have changed: the random streams, the transforms or their rounding.

CHANGING THE GOLDEN FILE IS DELIBERATE.  If the change is intended (a new adapter, a faster
transform that rounds differently, a new seeding scheme), regenerate it with one command,
``python tools/make_golden.py``, and say in the commit message why the values changed (and
in the changelog: users' seeded results change with it).  Never edit the file by hand.

Bit-for-bit agreement assumes the same backend library on the same kind of CPU: the
transforms use the backend's ``log``, whose last bit may differ between builds or
instruction sets.  The failure message tells which it is (a stream change moves every value;
a math-library difference moves a few values by an ulp).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests import _golden

GOLDEN = json.loads((Path(__file__).parent / "golden" / "values.json").read_text())


def golden_cases(backend) -> list[dict]:
    recorded = GOLDEN["backends"].get(backend.name)
    if recorded is None:
        pytest.skip(f"no golden values recorded for {backend.name}; run tools/make_golden.py --backends {backend.name}")
    return recorded["cases"]


def describe_difference(case: dict, got: str, expected: str) -> str:
    if case.get("digest"):
        return "digest differs"
    dtype = {"bfloat16": np.uint16, "float16": np.float16, "float32": np.float32, "float64": np.float64}[case["dtype"]]
    a = np.frombuffer(bytes.fromhex(got), dtype=dtype).astype(np.float64)
    b = np.frombuffer(bytes.fromhex(expected), dtype=dtype).astype(np.float64)
    changed = int((a != b).sum())
    return f"{changed} of {a.size} values differ; largest relative difference {np.max(np.abs(a - b) / np.abs(b)):.2e}"


def test_golden_values(backend):
    cases = golden_cases(backend)
    wanted = _golden.cases(backend.name)
    recorded = [{k: v for k, v in case.items() if k != "values"} for case in cases]
    assert all(case in wanted for case in recorded), "the golden file is stale: regenerate it"
    missing = [case for case in wanted if case not in recorded]
    # A GPU backend's native entries can only be recorded on a GPU (tools/make_golden.py there).
    assert not missing or backend.name in ("torch:cuda", "cupy"), f"{len(missing)} golden cases not recorded"
    failures = []
    for case in cases:
        if not _golden.available(backend.name, case):
            continue  # float64 on JAX without its 64-bit types: checked by the x64 run
        got = _golden.compute(backend.name, case)
        for call, (value, expected) in enumerate(zip(got, case["values"], strict=True)):
            if value != expected:
                label = f"{case['distribution']} {case['dtype']} seed={case['seed']} shape={case['shape']} call {call}"
                failures.append(f"{label}: {describe_difference(case, value, expected)}")
    assert not failures, "seeded values changed:\n" + "\n".join(failures)
    if missing:
        pytest.skip(f"{len(missing)} cases of {backend.name} have no golden values yet: run tools/make_golden.py here")
