"""JAX's default configuration (x64 off): the portable stream, every seed and key, the same bits.

The suite runs with ``jax_enable_x64`` on (conftest), which once hid an ``OverflowError``
of the portable stream under JAX's default: Python ints of 2**31 and more met uint32
arrays in the key schedule. Here a child interpreter with ``JAX_ENABLE_X64=0`` computes
calls for seeds across the 64-bit range, every distribution, float32/bfloat16/float16,
several calls per initializer (calls after the first fold the call index in) and
``generator=`` keys, and they must be the bits this process computes with x64 on.
CI also runs the JAX backend's tests in that configuration (.ci/run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vscale

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2**31, 2**32 + 7, 2**63 + 5, 2**64 - 1)
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
DTYPES = ("float32", "bfloat16", "float16")
CALLS = 3

CHILD = """
import json, sys
import numpy as np
import jax, jax.numpy as jnp
import vscale
assert not jax.config.jax_enable_x64
seeds, distributions, dtypes, calls = json.loads(sys.argv[1])
out = {}
def bits(array):
    return np.asarray(array.astype(jnp.float32)).tobytes().hex()
for seed in seeds:
    for distribution in distributions:
        for dtype in dtypes:
            init = vscale.VarianceScaling(2.0, "fan_avg", distribution, seed=seed, prng="threefry")
            out[f"{seed}/{distribution}/{dtype}"] = [bits(init((7, 9), dtype, xp="jax")) for _ in range(calls)]
typed = vscale.VarianceScaling(prng="threefry").sample((5, 6), xp="jax", generator=jax.random.key(2**31 + 3))
raw = vscale.VarianceScaling(prng="threefry").sample((5, 6), xp="jax", generator=jax.random.PRNGKey(2**31 + 3))
out["typed key"], out["raw key"] = bits(typed), bits(raw)
for seed in (0, 5, 2**31 + 1):
    mine = vscale.VarianceScaling(1.7, "fan_in", "uniform", seed=seed, prng="threefry")((30, 20), xp="jax")
    theirs = jax.nn.initializers.variance_scaling(1.7, "fan_in", "uniform")(jax.random.key(seed), (30, 20))
    out[f"jax uniform {seed}"] = bool(np.array_equal(np.asarray(mine), np.asarray(theirs)))
native = [vscale.VarianceScaling(seed=seed)((4, 4), xp="jax") for seed in (3, 3 + 2**32, 3 + 2**63)]
out["native seeds distinct"] = len({np.asarray(n).tobytes() for n in native}) == 3
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def child():
    env = dict(os.environ, JAX_ENABLE_X64="0", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    arguments = json.dumps([SEEDS, DISTRIBUTIONS, DTYPES, CALLS])
    done = subprocess.run(
        [sys.executable, "-c", CHILD, arguments], capture_output=True, text=True, env=env, timeout=600, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _bits(array) -> str:
    return np.asarray(array.astype(jnp.float32)).tobytes().hex()


@pytest.mark.parametrize("seed", SEEDS)
def test_every_seed_and_call_gives_the_x64_bits(child, seed):
    for distribution in DISTRIBUTIONS:
        for dtype in DTYPES:
            init = vscale.VarianceScaling(2.0, "fan_avg", distribution, seed=seed, prng="threefry")
            expected = [_bits(init((7, 9), dtype, xp="jax")) for _ in range(CALLS)]
            assert child[f"{seed}/{distribution}/{dtype}"] == expected, (distribution, dtype)
    numpy = vscale.VarianceScaling(2.0, "fan_avg", "truncated_normal", seed=seed, prng="threefry")((7, 9))
    assert child[f"{seed}/truncated_normal/float32"][0] == numpy.tobytes().hex()  # and NumPy's


def test_jax_keys_as_generators(child):
    typed = vscale.VarianceScaling(prng="threefry").sample((5, 6), xp="jax", generator=jax.random.key(2**31 + 3))
    assert child["typed key"] == child["raw key"] == _bits(typed)


def test_call_zero_is_jaxs_own_uniform_without_x64(child):
    assert child["jax uniform 0"] and child["jax uniform 5"] and child["jax uniform 2147483649"]


def test_native_seeds_beyond_32_bits_stay_distinct(child):
    """vscale derives JAX's native keys by hashing the whole seed, so JAX's 32-bit seeds do not collide."""
    assert child["native seeds distinct"]
