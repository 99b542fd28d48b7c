"""Sharded JAX arrays, each device's shard computed alone from its global region.

The recipe of the distributed page: with ``prng="threefry"`` and ``generator=`` a JAX key,
``init(shape, dtype, generator=key, region=index)`` is the piece ``index`` of one call, so
``jax.make_array_from_callback`` (shards made on the host) and
``jax.make_array_from_single_device_arrays`` (shards made on their devices) assemble the
unsharded call's array.  JAX fixes its device count when it starts, so the checks run in a
subprocess with four host CPU devices (``--xla_force_host_platform_device_count=4``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

SCRIPT = r"""
import sys
import numpy as np
import jax, jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import vscale

x64 = bool(jax.config.jax_enable_x64)
assert len(jax.devices()) == 4, jax.devices()
mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ("rows", "cols"))
specs = [P("rows", "cols"), P("cols", "rows"), P("rows", None), P(None, "cols"), P()]
dtypes = ["float32", "float64", "complex64"] if x64 else ["float32"]
DEVICE_CASES = [("truncated_normal", "float32", specs[0]), ("untruncated_normal", "float64", specs[0])]
checks = 0


def bits(array):
    array = np.asarray(array)
    return array.dtype, array.shape, array.reshape(-1).view(np.uint8).tobytes()


for distribution in ["truncated_normal", "untruncated_normal", "uniform"]:
    for dtype in dtypes:
        init = vscale.VarianceScaling(2.0, "fan_avg", distribution, prng="threefry")
        key = jax.random.fold_in(jax.random.key(7), 3)
        shape = (64, 48)
        whole = init(shape, dtype, generator=key)  # the unsharded call, on NumPy
        for spec in specs:
            sharding = NamedSharding(mesh, spec)
            host = jax.make_array_from_callback(
                shape, sharding, lambda index: init(shape, dtype, generator=key, region=index)
            )
            assert host.sharding == sharding and host.dtype == np.dtype(dtype)
            assert bits(host) == bits(whole), (distribution, dtype, spec, "host")
            for shard in host.addressable_shards:
                assert bits(shard.data) == bits(whole[shard.index]), (distribution, dtype, spec, shard.index)
            checks += 1
            # Shards made on their devices: each new shape and device compiles JAX's operations
            # (about 1.5 s), so two cases; regions of JAX arrays need 64-bit positions.
            if not x64 or (distribution, dtype, spec) not in DEVICE_CASES:
                continue
            indices = sharding.addressable_devices_indices_map(shape)
            pieces = [
                init(shape, dtype, xp=jnp, device=device, generator=key, region=index)
                for device, index in indices.items()
            ]
            assert all(piece.devices() == {device} for piece, device in zip(pieces, indices))
            on_devices = jax.make_array_from_single_device_arrays(shape, sharding, pieces)
            assert on_devices.sharding == sharding
            assert bits(on_devices) == bits(init(shape, dtype, xp=jnp, generator=key)), (distribution, dtype, spec)
            assert bits(on_devices) == bits(whole), (distribution, dtype, spec, "numpy")
            checks += 1

# A seeded initializer's call c has the key fold_in(key(seed), c) (c >= 1): its calls shard too.
seeded = vscale.HeNormal(seed=7, prng="threefry")
first, second = seeded((64, 48)), seeded((64, 48))
sharding = NamedSharding(mesh, P("rows", "cols"))
recipe = vscale.HeNormal(prng="threefry")
for call, expected in [(0, first), (1, second)]:
    key = jax.random.key(7) if call == 0 else jax.random.fold_in(jax.random.key(7), call)
    sharded = jax.make_array_from_callback(
        (64, 48), sharding, lambda index: recipe((64, 48), generator=key, region=index)
    )
    assert bits(sharded) == bits(expected), call
    checks += 1
assert recipe._calls == 0  # generator= calls leave the sequence of calls alone
print("checks", checks)
"""


JIT_SCRIPT = r"""
import numpy as np
import jax, jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import vscale

mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ("rows", "cols"))
checks = 0
for distribution in ["truncated_normal", "untruncated_normal", "uniform"]:
    for dtype in ["float32", "float64"]:
        make = lambda: vscale.VarianceScaling(2.0, "fan_avg", distribution, seed=7, prng="threefry")
        call = lambda: make()((64, 48), dtype, xp=jnp)
        for spec in [P("rows", "cols"), P(None, "rows"), P()]:
            sharding = NamedSharding(mesh, spec)
            sharded = jax.jit(call, out_shardings=sharding)()
            assert sharded.sharding == sharding
            unsharded = jax.jit(call)()
            assert np.array_equal(np.asarray(sharded).view(np.uint8), np.asarray(unsharded).view(np.uint8))
            checks += 1
        # Against the eager call (NumPy's bits): XLA contracts multiply-adds into FMAs under
        # jit, so the normals may move by an ulp; the uniform's products are exact.
        eager = make()((64, 48), dtype)
        jitted = np.asarray(jax.jit(call)())
        ulps = np.abs(jitted.astype(np.float64) - eager) / np.spacing(np.abs(eager).astype(dtype))
        if distribution == "uniform":
            assert ulps.max() == 0
        else:
            assert ulps.max() <= 2, ulps.max()
        checks += 1
print("checks", checks)
"""


def _run_on_four_devices(script: str, x64: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    env["JAX_ENABLE_X64"] = "1" if x64 else "0"
    env["JAX_PLATFORMS"] = "cpu"
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_jit_with_out_shardings_is_the_unsharded_jit_call():
    """jax.jit of a call with xp=jax.numpy and out_shardings over 4 host devices."""
    run = _run_on_four_devices(JIT_SCRIPT, x64=True)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout.split() == ["checks", str(3 * 2 * 4)], run.stdout


@pytest.mark.parametrize("x64", [True, False], ids=["x64", "x32"])
def test_sharded_arrays_are_the_unsharded_call(x64):
    run = _run_on_four_devices(SCRIPT, x64)
    assert run.returncode == 0, run.stderr[-4000:]
    # 3 distributions x dtypes x 5 shardings on the host, 2 on the devices (x64), 2 seeded calls.
    expected = 3 * 3 * 5 + 2 + 2 if x64 else 3 * 5 + 2
    assert run.stdout.split() == ["checks", str(expected)], run.stdout
