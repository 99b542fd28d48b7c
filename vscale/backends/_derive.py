"""Key derivation shared by the streams: one hash per block, one packing of drawn words.

Every stream turns the call's 16-byte key and a block index into its block's seed with
BLAKE2b, each kind of stream under its own personal string so that no two kinds share
seeds; unseeded calls pack four 32-bit words drawn from a framework generator into a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def block_digest(key: bytes, block: int, size: int, person: bytes) -> bytes:
    """``size`` bytes of BLAKE2b over ``key`` and ``block``, personalised with ``person``."""
    return hashlib.blake2b(key + block.to_bytes(8, "little"), digest_size=size, person=person).digest()


def key_from_words(words: Iterable[int]) -> bytes:
    """A 16-byte key from four 32-bit words drawn from a generator."""
    return b"".join(int(word).to_bytes(4, "little") for word in words)
