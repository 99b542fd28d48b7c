"""Threefry-2x32 with 20 rounds, in integer array-API operations only: the portable stream.

Threefry (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) is a
keyed bijection of a pair of 32-bit words: with a 64-bit key and a 64-bit counter it
gives 64 random bits, and every output is a pure function of (key, counter).  vscale's
portable stream is JAX's default one (``jax.random.key`` / ``jax.random.bits`` with
``jax_threefry_partitionable``, the default since JAX 0.5): element ``i`` of a call
takes the counter ``(i >> 32, i & 0xFFFFFFFF)``; its 32-bit draw is ``y0 ^ y1`` and its
64-bit draw ``(y0 << 32) | y1``, for the output words ``(y0, y1)``.

The rounds use ``+``, ``<<``, ``>>``, ``|`` and ``^`` on arrays of a *word* dtype the
adapter picks: ``uint32`` where the namespace has those operations for it (NumPy, CuPy,
JAX, array-api-strict), else a wider signed type (torch's ``int64``: its ``uint32``
lacks addition and shifts), in which every result is masked back to 32 bits.  Integer
arithmetic is exact on every library, so the words are the same everywhere.

Draws become floats without a bit cast (the standard has none): the 23 (float32) or 52
(float64) mantissa bits that JAX places into ``[1, 2)`` and shifts down by one are the
integer ``m``, and ``m * 2**-23`` (``2**-52``) is exact.  Complex outputs, which vscale
defines itself, take the top 24 (53) bits instead: the grid ``k * eps / 2`` the native
streams deliver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .regions import Positions

Array = Any

MASK = 0xFFFFFFFF
_PARITY = 0x1BD11BDA
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(
    key: tuple[int, int], x0: Array, x1: Array, /, *, wide: bool, word: Callable[[int], Any] | None = None
) -> tuple[Array, Array]:
    """Encrypt the counter words ``(x0, x1)`` under ``key``; returns the output words.

    ``x0`` and ``x1`` (arrays of one integer dtype holding values below ``2**32``) are
    overwritten where the namespace allows it (augmented assignments), else replaced.
    ``wide`` says that the dtype has more than 32 bits, so sums and left shifts are
    masked back to 32 bits.  ``word`` turns each key-schedule word the rounds add into an
    operand of the arrays' dtype (a typed scalar or 0-d array): a namespace may refuse a Python int of
    ``2**31`` or more next to unsigned 32-bit arrays (JAX without 64-bit types reads it
    as an int32).  Without it, the words are added as Python ints.
    """
    operand = word or _as_is
    k0, k1 = key[0] & MASK, key[1] & MASK
    schedule = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0 += operand(schedule[0])
    x1 += operand(schedule[1])
    if wide:
        x0 &= MASK
        x1 &= MASK
    for injection in range(1, 6):
        for rotation in _ROTATIONS[(injection - 1) % 2]:
            x0 += x1
            if wide:
                x0 &= MASK
            high = x1 >> (32 - rotation)
            x1 <<= rotation
            if wide:
                x1 &= MASK
            x1 |= high
            x1 ^= x0
        x0 += operand(schedule[injection % 3])
        x1 += operand((schedule[(injection + 1) % 3] + injection) & MASK)
        if wide:
            x0 &= MASK
            x1 &= MASK
    return x0, x1


def _as_is(value: Any) -> Any:
    return value


def threefry2x32_words(key: tuple[int, int], counter: tuple[int, int]) -> tuple[int, int]:
    """One block in Python integers, for deriving keys (a few microseconds, where the
    array rounds above would cost a hundred on one element).  The known-answer tests
    check both against Random123's vectors and JAX."""
    k0, k1 = key[0] & MASK, key[1] & MASK
    schedule = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0, x1 = (counter[0] + k0) & MASK, (counter[1] + k1) & MASK
    for injection in range(1, 6):
        for rotation in _ROTATIONS[(injection - 1) % 2]:
            x0 = (x0 + x1) & MASK
            x1 = (((x1 << rotation) | (x1 >> (32 - rotation))) & MASK) ^ x0
        x0 = (x0 + schedule[injection % 3]) & MASK
        x1 = (x1 + schedule[(injection + 1) % 3] + injection) & MASK
    return x0, x1


def key_of_seed(seed: int) -> tuple[int, int]:
    """``jax.random.key(seed)``'s words for ``0 <= seed < 2**64`` (the 64-bit two's-complement split)."""
    return (seed >> 32) & MASK, seed & MASK


def fold_in(key: tuple[int, int], data: int) -> tuple[int, int]:
    """``jax.random.fold_in(key, data)``: the block of counter ``(0, data)`` under ``key``."""
    return threefry2x32_words(key, (0, data & MASK))


def counters(start: int, count: int, *, xp: Any, word: Any, device: Any = None) -> tuple[Array, Array]:
    """The counter words of positions ``start .. start + count - 1`` (within one 2**32 page)."""
    high, low = divmod(start, 1 << 32)
    if low + count > 1 << 32:
        raise ValueError("a range of counters must not cross a multiple of 2**32")
    x0 = xp.full((count,), high, dtype=word, device=device)
    x1 = xp.arange(low, low + count, dtype=word, device=device)
    return x0, x1


def split_positions(positions: Array, *, xp: Any, word: Any) -> tuple[Array, Array]:
    """Counter words of an integer array of positions (a region's, not contiguous)."""
    high = xp.astype(positions >> 32, word)
    low = xp.astype(positions & MASK, word)
    return high, low


def words_to_uniforms(y0: Array, y1: Array, /, *, xp: Any, dtype: Any, grid: str) -> Array:
    """Uniforms in ``[0, 1)`` of ``dtype`` from a block's output words: float32 from the
    32-bit draw ``y0 ^ y1``, float64 from the 64-bit draw ``(y0 << 32) | y1``."""
    if xp.finfo(dtype).bits == 32:
        return draws_to_uniforms(y0 ^ y1, None, xp=xp, dtype=dtype, grid=grid)
    return draws_to_uniforms(y0, y1, xp=xp, dtype=dtype, grid=grid)


def draws_to_uniforms(high: Array, low: Array | None, /, *, xp: Any, dtype: Any, grid: str) -> Array:
    """Uniforms in ``[0, 1)`` of ``dtype`` from 32-bit draws ``high`` (float32; ``low`` is
    None) or from 64-bit draws given as their words ``(high, low)`` (float64): what
    ``jax.random.bits`` returns as ``uint32`` or (split) ``uint64``.  Overwrites its inputs.

    ``grid="jax"``: ``jax.random.uniform``'s ``m * 2**-p`` from the draw's low ``p``
    bits after shifting out the rest (``p`` = 23 or 52).  ``grid="centred"``: the top
    ``p + 1`` bits times ``2**-(p + 1)``.
    """
    extra = 0 if grid == "jax" else 1
    if low is None:
        high >>= 9 - extra
        u = xp.astype(high, dtype)
        u *= 2.0 ** -(23 + extra)
        return u
    # 64-bit draw (high << 32) | low, shifted right by 12 - extra: high's bits land at
    # 2**(20 + extra), low contributes its top 20 + extra bits; both parts and their sum
    # stay below 2**53, so the float64 arithmetic is exact.
    low >>= 12 - extra
    u = xp.astype(high, dtype)
    u *= float(1 << (20 + extra))
    u += xp.astype(low, dtype)
    u *= 2.0 ** -(52 + extra)
    return u


#: Counters of one range stay within a page: its high word is constant.
_PAGE = 1 << 32


class ThreefryStream:
    """JAX's Threefry-2x32 stream of a 64-bit key, in the compute namespace ``xp``.

    ``word`` is the integer dtype of the rounds (see :func:`threefry2x32`),
    ``index`` the one of region positions (64-bit); ``grid`` is ``"jax"`` or ``"centred"``.
    """

    seekable = True
    normals = False
    #: Chunks of temporaries the stream holds while drawing (two word arrays and a shift).
    temporaries = 3

    def __init__(
        self,
        key: tuple[int, int],
        xp: Any,
        device: Any,
        dtype: Any,
        word: Any,
        grid: str,
        positions: Positions | None = None,
        index: Any = None,
        word_operand: Any = None,
    ) -> None:
        self.key, self.xp, self.device, self.dtype, self.word = key, xp, device, dtype, word
        self.wide = xp.iinfo(word).bits > 32
        self.grid, self.positions, self.index = grid, positions, index
        #: The adapter's converter for key-schedule words (see ``Backend.threefry_word``).
        self.word_operand = word_operand

    def draw(self, start: int, count: int, out: Array | None = None, *, normal: bool = False) -> Array:
        xp = self.xp
        if self.positions is not None and self.positions.offset is not None:
            start += self.positions.offset
        elif self.positions is not None:
            flat = self.positions.of(start, count, xp=xp, index=self.index, device=self.device)
            x0, x1 = split_positions(flat, xp=xp, word=self.word)
            return self._uniforms(x0, x1)
        pieces = []
        position, stop = start, start + count
        while position < stop:  # counters of one range stay within a 2**32 page
            size = min(stop, (position // _PAGE + 1) * _PAGE) - position
            x0, x1 = counters(position, size, xp=xp, word=self.word, device=self.device)
            pieces.append(self._uniforms(x0, x1))
            position += size
        return pieces[0] if len(pieces) == 1 else xp.concat(pieces)

    def _uniforms(self, x0: Array, x1: Array) -> Array:
        y0, y1 = threefry2x32(self.key, x0, x1, wide=self.wide, word=self.word_operand)
        return words_to_uniforms(y0, y1, xp=self.xp, dtype=self.dtype, grid=self.grid)
