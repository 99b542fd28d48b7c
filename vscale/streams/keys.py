"""Every key vscale derives, in one place: a call's key, a block's seed, a generator's key.

A call's key is 16 bytes for the native streams and 8 bytes (two 32-bit words, JAX's
Threefry key) for the portable one.

* ``seed`` an int: call ``i`` of the initializer has the key BLAKE2b(seed, i)
  (:func:`native_key`), or JAX's ``fold_in(key(seed), i)`` with ``prng="threefry"``
  (:func:`threefry_key`).  Each call differs, and two initializers with one seed give
  the same sequence of calls.
* ``seed=None``: the key is drawn from the framework's global generator (torch's default
  generator of the target device, ``numpy.random``'s global state, CuPy's; fresh OS
  entropy on JAX, which has none), so ``torch.manual_seed`` and ``numpy.random.seed``
  govern unseeded initializers, and unseeded calls still differ.  Four 32-bit words drawn
  from a generator become a key through :func:`key_from_words`.
* ``generator=`` on a call: the key is drawn from that generator instead, and the
  initializer's own call counter is left alone.

The native streams turn a call's key and a block index into the block's seed with
:func:`block_digest`, each kind of stream under its own personal string, so that no two
kinds of stream share seeds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..core.threefry import MASK, fold_in, key_of_seed
from ..kernels.host import threefry_block


def _digest(data: bytes, size: int, person: bytes) -> bytes:
    """``size`` bytes of BLAKE2b over ``data``, personalised with ``person``: every hash here."""
    return hashlib.blake2b(data, digest_size=size, person=person).digest()


def seeded_key(seed: int, call: int, *, portable: bool) -> bytes:
    """The key of call ``call`` of an initializer with ``seed``: the portable stream's
    (:func:`threefry_key`) or the native streams' (:func:`native_key`)."""
    return threefry_key(seed, call) if portable else native_key(seed, call)


def native_key(seed: int, call: int) -> bytes:
    """The native key of call ``call`` of an initializer with ``seed`` (both non-negative)."""
    seed_bytes = seed.to_bytes((seed.bit_length() + 8) // 8, "little")
    data = len(seed_bytes).to_bytes(8, "little") + seed_bytes + call.to_bytes(8, "little")
    return _digest(data, 16, b"vscale-call")


def threefry_key(seed: int, call: int) -> bytes:
    """The portable key of call ``call``: ``jax.random.key(seed)``, folded with ``call`` from call 1 on."""
    key = key_of_seed(seed)
    if call:
        # fold_in's one block, compiled where the kernels are (5 us in Python, 0.2 compiled).
        key = fold_in(key, call) if threefry_block is None else threefry_block(*key, 0, call & MASK)
    return words_to_bytes(key)


def block_digest(key: bytes, block: int, size: int, person: bytes) -> bytes:
    """``size`` bytes seeding ``block`` of the stream with ``key``; ``person`` names the kind of stream."""
    return _digest(key + block.to_bytes(8, "little"), size, person)


def key_from_words(words: Iterable[int]) -> bytes:
    """A 16-byte key from four 32-bit words drawn from a generator."""
    return b"".join(int(word).to_bytes(4, "little") for word in words)


def key_from_jax_data(data: np.ndarray) -> bytes:
    """A 16-byte native key from the words of a JAX PRNG key (any implementation)."""
    return _digest(data.tobytes(), 16, b"vscale-jaxkey")


def words_to_bytes(key: tuple[int, int]) -> bytes:
    return key[0].to_bytes(4, "big") + key[1].to_bytes(4, "big")


def bytes_to_words(key: bytes) -> tuple[int, int]:
    return int.from_bytes(key[:4], "big"), int.from_bytes(key[4:8], "big")


def jax_key_words(generator: Any) -> tuple[int, int] | None:
    """The words of a JAX Threefry key (typed or raw ``uint32[2]``), or None for other objects."""
    if not type(generator).__module__.startswith("jax"):
        return None
    import jax  # optional framework: a JAX array exists, so JAX is installed and imported

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
