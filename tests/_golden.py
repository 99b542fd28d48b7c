"""Seeded outputs as exact bytes: shared by tests/test_numerics_golden.py, the determinism
test and tools/make_golden.py (which writes tests/golden/values.json)."""

from __future__ import annotations

import hashlib
import importlib
from typing import Any

import numpy as np

import vscale

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
DTYPES = ("float16", "bfloat16", "float32", "float64")
SEEDS = (0, 1234, 2**63 + 5)
SMALL_SHAPE = (3, 4)
CALLS = 2  # the first two calls of one seeded initializer (call i uses stream i)
# 131 078 values: more than two of the 2**16-value chunks of the CPU backends, stored as a digest.
LARGE_SHAPE = (2, 65539)
BACKEND_DTYPES = {
    "numpy": ("float16", "float32", "float64"),
    "torch:cpu": DTYPES,
    "torch:cuda": DTYPES,
    "cupy": ("float16", "float32", "float64"),
    "jax": DTYPES,
    "array_api_strict": ("float32", "float64"),
}


def namespace(backend_name: str) -> tuple[Any, Any]:
    """``(module, device)`` for a backend name of conftest.ALL_BACKENDS."""
    framework, _, device = backend_name.partition(":")
    return importlib.import_module("jax.numpy" if framework == "jax" else framework), (device or None)


def native_bytes(result: Any) -> bytes:
    """The result's raw little-endian bytes in its own dtype (bfloat16 included)."""
    module = type(result).__module__.split(".")[0]
    if module == "torch":
        tensor = result.detach().cpu().contiguous()
        if tensor.element_size() == 2:
            import torch

            tensor = tensor.view(torch.int16)
        return tensor.numpy().astype(tensor.numpy().dtype.newbyteorder("<")).tobytes()
    if module == "cupy":
        result = result.get()
    elif module == "array_api_strict":
        result = result._array  # array-api-strict wraps a NumPy array
    array = np.ascontiguousarray(result)
    if array.dtype.itemsize == 2:  # bfloat16 (ml_dtypes) has no byte-order variant
        array = array.view(np.int16)
    return array.astype(array.dtype.newbyteorder("<")).tobytes()


def draw(
    backend_name: str,
    distribution: str,
    dtype: str,
    seed: int,
    shape: tuple[int, ...],
    calls: int,
    prng: str = "native",
) -> list[bytes]:
    module, device = namespace(backend_name)
    init = vscale.VarianceScaling(2.0, "fan_avg", distribution, seed=seed, prng=prng)
    return [native_bytes(init(shape, dtype, xp=module, device=device)) for _ in range(calls)]


def available(backend_name: str, case: dict[str, Any]) -> bool:
    """Whether a case's dtype exists here (JAX's float64 only with its 64-bit types)."""
    import sys

    jax = sys.modules.get("jax")
    x64 = jax is None or bool(jax.config.jax_enable_x64)
    return x64 or not backend_name.startswith("jax") or case["dtype"] != "float64"


def cases(backend_name: str) -> list[dict[str, Any]]:
    """Every golden case of a backend, without values."""
    small = [
        {"distribution": d, "dtype": t, "seed": s, "shape": list(SMALL_SHAPE), "calls": CALLS}
        for d in DISTRIBUTIONS for t in BACKEND_DTYPES[backend_name] for s in SEEDS
    ]  # fmt: skip
    large = [
        {"distribution": d, "dtype": "float32", "seed": 7, "shape": list(LARGE_SHAPE), "calls": 1, "digest": True}
        for d in DISTRIBUTIONS
    ]
    # The portable stream: the same cases with prng="threefry" (its bits are one on every
    # backend, so a GPU's entries are the host's, recorded without a GPU and checked on one).
    portable = [dict(case, prng="threefry") for case in small + large]
    return small + large + portable


def compute(backend_name: str, case: dict[str, Any]) -> list[str]:
    """Hex of each call's bytes, or their SHA-256 for the large cases."""
    raw = draw(
        backend_name,
        case["distribution"],
        case["dtype"],
        case["seed"],
        tuple(case["shape"]),
        case["calls"],
        case.get("prng", "native"),
    )
    if case.get("digest"):
        return [hashlib.sha256(r).hexdigest() for r in raw]
    return [r.hex() for r in raw]
