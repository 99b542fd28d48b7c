"""Uniform draws to VarianceScaling's three distributions, in the array API standard.

Every transform takes a 1-D chunk of uniform draws ``u`` in ``[0, 1)`` on the grid
``k * eps / 2`` of its working dtype (``2**-24`` for float32, ``2**-53`` for float64;
that is what the backend adapters deliver), and returns the chunk's values.  The first
step maps the grid exactly onto the symmetric open grid
``v = (2k + 1 - 2**b) * 2**-b`` inside ``(-1, 1)``: no draw maps to an endpoint, so the
inverse CDF is finite everywhere, and the set of values is symmetric about 0.

The chunk loop, the random numbers and the output array belong to the caller
(:mod:`vscale._sampling`); these functions only see arrays and ``xp``.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

from .erfinv import erfinv, truncated_erfinv

Array = Any
Kind = Literal["truncated_normal", "untruncated_normal", "uniform"]

# Standard deviation of a standard normal truncated to [-2, 2]:
# sqrt(1 - 4 * phi(2) / (2 * Phi(2) - 1)), with phi and Phi the standard normal pdf and
# cdf.  Keras divides by it so that the truncated draws have the requested deviation;
# tests/test_core.py re-derives it from that formula.
TRUNCATED_STD = 0.87962566103423978

SQRT2 = math.sqrt(2.0)

# Largest |value| of the standard normal transform: sqrt(2) * erfinv(1 - eps/2) for the
# outermost centred grid point of float32 (1 - 2**-24) and float64 (1 - 2**-53).
NORMAL_REACH = {32: 5.419983174916868, 64: 8.292361075813596}


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


def centre_uniforms(u: Array, /, *, xp: Any) -> Array:
    """Map draws on the grid ``k * eps/2`` of ``[0, 1)`` to ``(2k + 1) * eps/2 - 1``.

    Both steps are exact in floating point: ``2u`` is a power-of-two scaling, and the
    difference ``2u - (1 - eps/2)`` is representable, so it is computed without rounding.
    The update happens in place where the namespace allows it.
    """
    half_eps = xp.finfo(u.dtype).eps / 2
    u *= 2.0
    u -= 1.0 - half_eps
    return u


def apply(u: Array, transform: Transform, /, *, xp: Any) -> Array:
    """Turn a chunk of uniform draws into values of ``transform``'s distribution."""
    v = centre_uniforms(u, xp=xp)
    if transform.kind == "truncated_normal":
        x = truncated_erfinv(v, xp=xp, factor=transform.factor)
    elif transform.kind == "untruncated_normal":
        return erfinv(v, xp=xp, factor=transform.factor)
    else:
        x = v
        x *= transform.factor
    return xp.clip(x, -transform.bound, transform.bound)


def make_transform(kind: Kind, spread: float, bound: float) -> Transform:
    """The :class:`Transform` for ``kind``.

    ``spread`` is the deviation of the normal before any truncation, or the uniform's
    half-width; ``bound`` the clipping bound (ignored for the untruncated normal).
    """
    if kind == "uniform":
        return Transform(kind, spread, bound)
    return Transform(kind, SQRT2 * spread, bound if kind == "truncated_normal" else math.inf)
