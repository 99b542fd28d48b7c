"""Per-call keys: Keras' seed semantics, the frameworks' global generators, ``generator=``.

A call's key is 16 bytes; the adapters turn it into their stream (at least 64 bits of
it reach every native generator).

* ``seed`` an int: call ``i`` of the initializer has the key BLAKE2b(seed, i).  Each call
  differs, and two initializers with one seed give the same sequence of calls.
* ``seed=None``: the key is drawn from the framework's global generator (torch's default
  generator of the target device, ``numpy.random``'s global state, CuPy's; fresh OS
  entropy on JAX, which has none), so ``torch.manual_seed`` and ``numpy.random.seed``
  govern unseeded initializers, and unseeded calls still differ.
* ``generator=`` on a call: the key is drawn from that generator instead, and the
  initializer's own call counter is left alone.
"""

from __future__ import annotations

import hashlib


def seeded_key(seed: int, call: int) -> bytes:
    """The key of call ``call`` of an initializer with ``seed`` (both non-negative)."""
    seed_bytes = seed.to_bytes((seed.bit_length() + 8) // 8, "little")
    data = len(seed_bytes).to_bytes(8, "little") + seed_bytes + call.to_bytes(8, "little")
    return hashlib.blake2b(data, digest_size=16, person=b"vscale-call").digest()
