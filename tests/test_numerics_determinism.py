"""Same seed, shape, dtype and backend: the same bits in fresh interpreters (issue 3, item 6).

Two child interpreters (different ``PYTHONHASHSEED``, so nothing may depend on hash order or
on what the parent imported) compute SHA-256 digests of every golden case of the backend;
they must equal each other and the parent's.  The thread test is in tests/test_seeds.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests import _golden

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import hashlib, json, sys
sys.path.insert(0, {root!r})
from tests import _golden
name = {name!r}
print(json.dumps([hashlib.sha256("".join(_golden.compute(name, c)).encode()).hexdigest()
                  for c in _golden.cases(name) if _golden.available(name, c)]))
"""


def digests_here(name: str) -> list[str]:
    return [
        hashlib.sha256("".join(_golden.compute(name, c)).encode()).hexdigest()
        for c in _golden.cases(name)
        if _golden.available(name, c)
    ]


def digests_in_child(name: str, hash_seed: str) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    completed = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), name=name)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_bit_identical_across_processes_and_runs(backend):
    here = digests_here(backend.name)
    assert here == digests_here(backend.name)  # the same run, twice
    first = digests_in_child(backend.name, "0")
    second = digests_in_child(backend.name, "12345")
    assert first == second == here
    assert len(set(here)) == len(here)  # and every case differs from every other
