"""``prng="threefry"``: JAX's keys and JAX's constants, so that calls reproduce JAX's initializers.

Keys.  Call 0 of an initializer with ``seed`` uses ``jax.random.key(seed)`` (the words
``(seed >> 32, seed & 0xFFFFFFFF)``, as JAX splits a 64-bit seed); call ``c >= 1``
uses ``jax.random.fold_in(jax.random.key(seed), c)``.  A call with ``generator=`` a JAX
key uses that key itself; other generators and ``seed=None`` give a key drawn from the
framework's generator (its first 64 bits).

Constants.  ``jax.nn.initializers.variance_scaling`` rounds ``scale / n`` to the dtype,
then computes ``sqrt(3 * variance)`` (uniform), ``sqrt(variance)`` (normal) or
``sqrt(variance) / 0.87962566103423978`` (truncated normal) in that dtype; the uniform
and truncated normal draw on ``[-1, 1)`` and ``[erf(-sqrt(2)), erf(sqrt(2)))``, the
normal on ``[nextafter(-1, 0), 1)``.  The same roundings are made here in NumPy scalars,
so the uniform's values are JAX's bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._dtypes import largest_at_most
from .backends._host_kernels import threefry_block
from .core import TRUNCATED_STD
from .core.portable import PortableTransform
from .core.threefry import MASK, fold_in, key_of_seed
from .core.transforms import Kind


def call_key(seed: int, call: int) -> bytes:
    """The key of call ``call`` of an initializer with ``seed``, as 8 bytes."""
    key = key_of_seed(seed)
    if call:
        # fold_in's one block, compiled where the kernels are (5 us in Python, 0.2 compiled).
        key = fold_in(key, call) if threefry_block is None else threefry_block(*key, 0, call & MASK)
    return words_to_bytes(key)


def words_to_bytes(key: tuple[int, int]) -> bytes:
    return key[0].to_bytes(4, "big") + key[1].to_bytes(4, "big")


def bytes_to_words(key: bytes) -> tuple[int, int]:
    return int.from_bytes(key[:4], "big"), int.from_bytes(key[4:8], "big")


def jax_key_words(generator: Any) -> tuple[int, int] | None:
    """The words of a JAX Threefry key (typed or raw ``uint32[2]``), or None for other objects."""
    if not type(generator).__module__.startswith("jax"):
        return None
    import jax

    if jax.dtypes.issubdtype(generator.dtype, jax.dtypes.prng_key):
        if "threefry" not in str(jax.random.key_impl(generator)):
            raise ValueError(
                f'Argument `generator` must be a Threefry key with prng="threefry"; received a key of the '
                f"{jax.random.key_impl(generator)} implementation."
            )
        generator = jax.random.key_data(generator)
    data = np.asarray(generator)
    if data.dtype != np.uint32 or data.shape != (2,):
        raise ValueError(
            f'Argument `generator` must be a single JAX PRNG key with prng="threefry"; received an array of '
            f"shape {data.shape} and dtype {data.dtype}."
        )
    return int(data[0]), int(data[1])


def portable_transform(kind: Kind, scale: float, n: float, working: str, output: str) -> PortableTransform:
    """JAX's construction of ``kind`` for variance ``scale / n``, in the ``working`` dtype."""
    real = np.float64 if working == "float64" else np.float32
    variance = real(scale / n)
    if kind == "uniform":
        limit = float(np.sqrt(real(3) * variance))
        return PortableTransform("uniform", limit, largest_at_most(limit, output), -1.0, 2.0, 1.0)
    stddev = np.sqrt(variance)
    if kind == "untruncated_normal":
        low = np.nextafter(real(-1), real(0))
        width = float(real(1) - low)
        return PortableTransform(kind, math.sqrt(2.0) * float(stddev), math.inf, float(low), width, _grid(real))
    stddev = stddev / real(TRUNCATED_STD)
    lower, upper = real(math.erf(-math.sqrt(2.0))), real(math.erf(math.sqrt(2.0)))
    bound = largest_at_most(2.0 * float(stddev), output)
    smallest = float((real(1) - upper) * (real(1) + upper)) / 2.0
    width = upper - lower
    split = real(2 ** ((np.finfo(real).nmant + 2) // 2) + 1)  # Veltkamp: 2**ceil(p/2) + 1
    scaled = width * split
    width_high = scaled - (scaled - width)
    return PortableTransform(
        kind,
        math.sqrt(2.0) * float(stddev),
        bound,
        float(lower),
        float(width),
        smallest,
        (float(width_high), float(width - width_high)),
        float(split),
    )


def _grid(real: Any) -> float:
    """Least ``(1 - u)(1 + u)`` of the normal's uniforms (``u`` at least ``eps`` from 1), halved for roundings."""
    return float(np.finfo(real).eps) / 2.0
