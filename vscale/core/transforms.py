"""Uniform draws to VarianceScaling's three distributions, in the array API standard.

Every transform takes a 1-D chunk of uniform draws ``u`` in ``[0, 1)`` on the grid
``k * eps / 2`` of its working dtype (``2**-24`` for float32, ``2**-53`` for float64;
that is what the backend adapters deliver), and returns the chunk's values.  The first
step maps the grid exactly onto the symmetric open grid
``v = (2k + 1 - 2**b) * 2**-b`` inside ``(-1, 1)``: no draw maps to an endpoint, so the
inverse CDF is finite everywhere, and the set of values is symmetric about 0.

:func:`apply` takes the first step as ``h = v / 2`` in one exact subtraction and
folds the factor 2 into the constants that follow, and it overwrites ``u``: the result
is ``u`` itself unless a clip needs a new array, so the caller can draw into the output
and transform there.  The chunk loop, the random numbers and the output array belong to
the caller (:mod:`vscale.engine.loop`); these functions only see arrays and ``xp``.
"""

from __future__ import annotations

import functools
import math
import struct
from typing import Any, Literal, NamedTuple, get_args

from .erfinv import erfinv_half, truncated_erfinv_half

Array = Any
Kind = Literal["truncated_normal", "untruncated_normal", "uniform"]
#: The distribution names, in one place (Keras' alias "normal" is resolved by the public layer).
DISTRIBUTIONS: tuple[Kind, ...] = get_args(Kind)

# Standard deviation of a standard normal truncated to [-2, 2]:
# sqrt(1 - 4 * phi(2) / (2 * Phi(2) - 1)), with phi and Phi the standard normal pdf and
# cdf.  Keras divides by it so that the truncated draws have the requested deviation;
# tests/test_core.py re-derives it from that formula.
TRUNCATED_STD = 0.87962566103423978

SQRT2 = math.sqrt(2.0)

# Largest |value| of the standard normal transform: sqrt(2) * erfinv(1 - eps/2) for the
# outermost centred grid point of float32 (1 - 2**-24) and float64 (1 - 2**-53).
NORMAL_REACH = {32: 5.419983174916868, 64: 8.292361075813596}

# Largest |value| of the native normal generators a stream may use for the untruncated
# normal instead.  NumPy's ziggurat: its tail returns r + x with
# r = 3.6541528853610088 and x = -log1p(-u) / r for u < 1 on the grid 2**-24 (float32)
# or 2**-53 (float64), so at most r + 24 ln 2 / r = 8.207 and r + 53 ln 2 / r = 13.71
# (raised by 2**-20 for the roundings of that arithmetic).  Box-Muller on 32-bit uniforms
# (torch CUDA, CuPy) stays below sqrt(-2 log 2**-32) = 6.7.  Used to refuse scales whose
# values could overflow the output dtype.
_ZIGGURAT_R = 3.6541528853610088
SAMPLED_NORMAL_REACH = {
    bits: (_ZIGGURAT_R + grid * math.log(2.0) / _ZIGGURAT_R) * (1.0 + 2.0**-20) for bits, grid in ((32, 24), (64, 53))
}


class Transform(NamedTuple):
    """What to do with centred uniforms ``v``: ``clip(factor * f(v), -bound, bound)``.

    ``f`` is ``erfinv(erf(sqrt(2)) * v)`` (truncated normal), ``erfinv(v)`` (normal) or
    ``v`` (uniform).  ``bound`` is the largest value of the *output* dtype that does not
    exceed the support's half-width, so rounding to the output dtype cannot leave the
    support; it is ``inf`` for the untruncated normal.
    """

    kind: Kind
    factor: float
    bound: float


def half_centre_uniforms(u: Array, /, *, xp: Any) -> Array:
    """Map draws on the grid ``k * eps/2`` of ``[0, 1)`` to ``v / 2``, in place.

    ``v / 2 = (2k + 1 - 2**b) * 2**-(b + 1)`` is an odd integer below ``2**b`` times a
    power of two, hence representable, and ``1/2 - eps/4`` is representable too, so the
    single subtraction ``u - (1/2 - eps/4)`` is exact: one pass (rather than ``2u`` and a
    subtraction), with the factor 2 folded into what follows.
    """
    u -= (1.0 - _eps(u.dtype, xp) / 2) / 2
    return u


def _eps(dtype: Any, xp: Any) -> float:
    """``xp.finfo(dtype).eps``, remembered: the compat wrappers cost ~1 us a call."""
    # Keyed by the dtype's type too: dtypes of different libraries may hash and compare
    # alike (array-api-strict's warns when compared with NumPy's).
    key = (type(dtype), dtype)
    try:
        return _EPS[key]
    except (KeyError, TypeError):
        eps = float(xp.finfo(dtype).eps)
        try:
            _EPS[key] = eps
        except TypeError:  # an unhashable dtype object
            pass
        return eps


_EPS: dict[tuple[Any, Any], float] = {}


@functools.lru_cache(maxsize=256)
def round_toward_zero(value: float, bits: int) -> float:
    """The float32 (``bits=32``) or float64 number nearest to ``value`` towards zero."""
    if bits == 64:
        return value
    # struct's "f" rounds to the nearest float32; step back one ulp if that went outwards.
    (rounded,) = struct.unpack("<f", struct.pack("<f", value))
    if abs(rounded) > abs(value):
        (as_int,) = struct.unpack("<i", struct.pack("<f", rounded))
        (rounded,) = struct.unpack("<f", struct.pack("<i", as_int - 1))
    return rounded


def apply(u: Array, transform: Transform, /, *, xp: Any) -> Array:
    """Turn a chunk of uniform draws into values of ``transform``'s distribution.

    ``u`` is overwritten: the result is ``u`` itself where no new array is needed (the
    untruncated normal, and the uniform whose clip is provably void), else a new array.
    """
    h = half_centre_uniforms(u, xp=xp)
    if transform.kind == "truncated_normal":
        x = truncated_erfinv_half(h, xp=xp, factor=transform.factor)
        # The exact values stay ~2 ulps inside 2 sigma at the outermost grid point, less
        # than the polynomial's and the roundings' error: the clip is needed.
        return _clip(x, transform.bound, xp)
    if transform.kind == "untruncated_normal":
        return erfinv_half(h, xp=xp, factor=transform.factor)
    # The half-width F is rounded towards zero in the working dtype (not to nearest):
    # |v| <= 1 - eps/2 < 1 gives |v * F| < F, and rounding to nearest is monotone with
    # F representable, so |fl(v * F)| <= F <= the exact half-width.  When the output
    # dtype is the working dtype, F is the output's bound and clipping cannot change a
    # value; only a narrower output (float16, bfloat16) has a bound below F to clip to.
    # 2 * F is exact, and 2F * h = F * v is the same real product, rounded once.
    eps = _eps(u.dtype, xp)
    bits = 64 if eps < 2.0**-30 else 32
    half_width = round_toward_zero(transform.factor, bits)
    if 2.0 * half_width <= _LARGEST[bits]:
        h *= 2.0 * half_width
    else:  # 2F overflows the working dtype: two exact-enough steps (2h is exact) instead
        h *= 2.0
        h *= half_width
    if half_width <= transform.bound:
        return h
    return _clip(h, transform.bound, xp)


#: Below this many values a clip is two elementwise calls rather than ``xp.clip``, whose
#: array-api-compat wrapper costs ~15 us of Python per call; above it, one pass wins.
_SMALL = 4096


def _clip(x: Array, bound: float, xp: Any) -> Array:
    if x.shape[0] < _SMALL:
        return xp.minimum(xp.maximum(x, -bound), bound)
    return xp.clip(x, -bound, bound)


def apply_normal(z: Array, transform: Transform, /, *, xp: Any) -> Array:
    """Scale a chunk of standard normals from a native normal generator, in place.

    Only for the untruncated normal, whose factor is ``sqrt(2) * sigma`` (it multiplies
    ``erfinv``); a standard normal needs ``sigma``.
    """
    z *= transform.factor / SQRT2
    return z


_LARGEST = {32: 3.4028234663852886e38, 64: 1.7976931348623157e308}


def make_transform(kind: Kind, spread: float, bound: float) -> Transform:
    """The :class:`Transform` for ``kind``.

    ``spread`` is the deviation of the normal before any truncation, or the uniform's
    half-width; ``bound`` the clipping bound (ignored for the untruncated normal).
    """
    if kind == "uniform":
        return Transform(kind, spread, bound)
    return Transform(kind, SQRT2 * spread, bound if kind == "truncated_normal" else math.inf)
