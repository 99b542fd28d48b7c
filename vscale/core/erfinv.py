"""The inverse error function, from elementary array-API operations only.

The array API standard has no ``erf``/``erfinv``, so vscale carries its own: the
variable ``w = -log((1 - y)(1 + y))`` makes ``erfinv(y) / y`` smooth, and piecewise
polynomials in ``w`` (centre) or ``sqrt(w)`` (tails) reach working precision with
degrees between 7 and 23.  Coefficients and their provenance are in
:mod:`vscale.core._erfinv_tables` (``tools/fit_erfinv.py`` derives them).

``(1 - y)(1 + y)`` instead of ``1 - y*y`` keeps the relative error of ``1 - y**2``
near ``2**-24`` (float32) even when ``|y|`` is within a few ulps of 1; ``1 - y*y``
would lose up to a quarter of its value there, and the tails would be wrong by percent.

Speed comes from counting passes over memory, since every operation is a full pass
over its chunk: the functions work on ``h = y / 2`` (which the transforms get from the
uniform grid in one exact subtraction), evaluate ``t = log(...)`` rather than
``w = -t`` and fold the sign, the offset between ``t`` and ``w`` and every constant
factor into the coefficients and the polynomial's shift, and write the result into
``h`` itself.  The polynomials are the tables' own, evaluated in their centred form.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from . import _erfinv_tables as tables

Array = Any

# Polynomials in increasing order of their lower bound on the table variable:
# (lower bound on w, uses sqrt(w), table).  Float32 reaches w ~ 15.9 (|y| = 1 - 2**-24),
# float64 w ~ 36.1 (|y| = 1 - 2**-53); the last interval of each dtype covers that.
_PIECES = {
    4: ((0.0, False, tables.CENTRAL_F32), (5.0, True, tables.TAIL_F32)),
    8: (
        (0.0, False, tables.CENTRAL_F64),
        (6.25, True, tables.TAIL_F64),
        (16.0, True, tables.FAR_TAIL_F64),
    ),
}
_TRUNCATED = {4: tables.TRUNCATED_F32, 8: tables.TRUNCATED_F64}

# erf(sqrt(2)) = P(|Z| <= 2) for a standard normal Z: the share of the normal that the
# truncation at two standard deviations keeps.
ERF_SQRT2 = math.erf(math.sqrt(2.0))

_ONE_MINUS_ERF_SQRT2 = 1.0 - ERF_SQRT2

# (1 - y)(1 + y) = 4 (1/2 - h)(1/2 + h) for h = y/2, so w = -log((1/2 - h)(1/2 + h)) - log(4).
_LOG4 = math.log(4.0)


def _itemsize(x: Array, xp: Any) -> int:
    return xp.finfo(x.dtype).bits // 8


@functools.lru_cache(maxsize=256)
def _coefficients(poly: tables.Polynomial, negate: bool, scale: float) -> tuple[float, ...]:
    """``scale * poly``'s coefficients, for the variable ``-z`` instead of ``z`` if ``negate``.

    The highest degree comes first, so the coefficient at index ``i`` multiplies
    ``z**(degree - i)``; negating the variable flips the sign of the odd powers.
    """
    degree = len(poly.coefficients) - 1
    signs = [(-1.0) ** (degree - i) if negate else 1.0 for i in range(degree + 1)]
    return tuple(c * scale * s for c, s in zip(poly.coefficients, signs, strict=True))


def _split_factor(factor: float) -> tuple[float, tuple[float, ...]]:
    """``(folded, powers)`` with ``folded * prod(powers) == factor`` exactly.

    The folded part goes into the coefficients (no extra pass).  A huge factor would make
    Horner's partial sums, or the polynomial before its multiplication by ``h``, overflow
    even though the final values fit (deviations near 1e37 in float32), so beyond
    ``2**32`` the factor is split and the power of two applied last: an exact scaling
    that costs one pass, for such deviations only.  The power is applied in two halves
    (each at most ``2**64``), since ``2**128`` itself is not a float32.
    """
    if abs(factor) <= 2.0**32:
        return factor, ()
    _, exponent = math.frexp(factor)
    first = exponent // 2
    return math.ldexp(factor, -exponent), (math.ldexp(1.0, first), math.ldexp(1.0, exponent - first))


def _polynomial(z: Array, coefficients: tuple[float, ...]) -> Array:
    """Horner's scheme in one new buffer, updated in place (two passes per degree)."""
    acc = z * coefficients[0]
    acc += coefficients[1]
    for c in coefficients[2:]:
        acc *= z
        acc += c
    return acc


def erfinv_half(
    h: Array, /, *, xp: Any, factor: float = 1.0, log: Any = None, within_truncation: bool = False
) -> Array:
    """``factor * erfinv(2h)`` for ``|h| < 1/2``, written into ``h`` (which is returned).

    The building block of :func:`erfinv` and of the untruncated normal transform; ``h``
    must be a float32 or float64 array that the caller allows to be overwritten.
    ``log`` replaces ``xp.log`` (the portable transforms pass a correctly-rounded-only
    one).  ``within_truncation`` promises ``|2h| <= erf(sqrt(2))`` (up to a rounding),
    where the truncated normal's single polynomial replaces the pieces.
    """
    size = _itemsize(h, xp)
    pieces = ((0.0, False, _TRUNCATED[size]),) if within_truncation else _PIECES[size]
    factor, powers = _split_factor(factor)
    # 4 (1/2 - h)(1/2 + h) = (1 - y)(1 + y): both factors are exact where they are below
    # 1/2 (Sterbenz), the larger one carries a relative rounding of eps/2, and the
    # scaling by 4 is exact, so the accuracy argument above holds unchanged.
    p = 0.5 - h
    p = p * (h + 0.5)
    p = p * 4.0
    t = (xp.log if log is None else log)(p)  # t = -w, exactly the negated table variable
    tails = [_tail(t, lower, poly, 2.0 * factor, xp) for lower, _, poly in pieces[1:]]
    _, _, central = pieces[0]
    t += central.centre
    acc = _polynomial(t, _coefficients(central, True, 2.0 * factor))
    for in_tail, values in tails:
        acc = xp.where(in_tail, values, acc)
    h *= acc
    for power in powers:
        h *= power
    return h


def _tail(t: Array, lower: float, poly: tables.Polynomial, scale: float, xp: Any) -> tuple[Any, Any]:
    """Where ``w = -t >= lower``, and ``scale * poly(sqrt(w) - centre)`` everywhere.

    The tail polynomial runs on every value and the caller selects with ``where``: a
    selection by boolean indexing would give an array whose size depends on the data,
    which lazy (Dask) and traced (``jax.jit``) namespaces cannot build, and asking
    whether any value is in the tail would synchronise a GPU.
    """
    in_tail = t <= -lower
    # abs: t can be +0.0 (y = 0), whose negation sqrt takes as -0.0.
    s = xp.sqrt(xp.abs(t))
    s -= poly.centre
    return in_tail, _polynomial(s, _coefficients(poly, False, scale))


def erfinv(y: Array, /, *, xp: Any, factor: float = 1.0) -> Array:
    """``factor * erfinv(y)`` for a real float32 or float64 array ``y``.

    Values of magnitude 1 give ``±inf`` (times ``factor``) and values outside [-1, 1]
    give NaN, as ``scipy.special.erfinv`` does; the transforms never pass either.

    Parameters
    ----------
    y : array
        Real floating array (float32 or float64) of any shape; it is not modified.
    xp : namespace
        The array API namespace of ``y``.
    factor : float, optional
        Folded into the polynomial coefficients, so that scaling costs no extra pass.
    """
    # Values at or beyond the endpoints are replaced by 0 first, so that the logarithm
    # never sees 0 or a negative number, then given their limits with where.
    inside = xp.abs(y) < 1.0
    result = erfinv_half(xp.where(inside, y, 0.0) * 0.5, xp=xp, factor=factor)
    return _handle_endpoints(result, y, factor, xp)


def _handle_endpoints(result: Array, y: Array, factor: float, xp: Any) -> Array:
    # Computed for every value and selected with where: no Python branch on the data.
    magnitude = xp.abs(y)
    inf = xp.full_like(result, math.copysign(math.inf, factor))
    result = xp.where(magnitude == 1.0, xp.where(y > 0, inf, -inf), result)
    # ~(|y| <= 1) is also true for NaN inputs, which stay NaN as in scipy.special.erfinv.
    return xp.where(~(magnitude <= 1.0), math.nan, result)


def truncated_erfinv_half(h: Array, /, *, xp: Any, factor: float = 1.0) -> Array:
    """``factor * erfinv(ERF_SQRT2 * 2h)`` for ``|h| <= 1/2``, written into ``h``.

    The building block of :func:`truncated_erfinv` and of the truncated normal transform.
    ``|ERF_SQRT2 * 2h| <= 0.9545``, so ``1 - y**2 >= 0.089`` has no cancellation to
    guard against.
    """
    poly = _TRUNCATED[_itemsize(h, xp)]
    factor, powers = _split_factor(factor)
    # With a = |h| and y/2 = ERF_SQRT2 * a: (1/2 - y/2)(1/2 + y/2) = (1 - y**2) / 4, and
    # log of it plus log(4) is -w.  The small factor is formed as (1/2 - a) + a (1 - ERF_SQRT2):
    # 1/2 - a is exact (a lies on the grid of odd multiples of eps/4 in [0, 1/2)), and the
    # product's rounding is relative to a * 0.0455 rather than to a, so the factor carries
    # about 1.5 eps of relative error even where it is 0.023 (|y| = 0.9545); rounding
    # ERF_SQRT2 * a first would carry 10 eps there.  log is several times cheaper than
    # log1p on the CPU (NumPy float32: 2.6 vs 13 ns a value) and correctly rounded on XLA,
    # whose float64 log1p is not.
    a = xp.abs(h)
    t = 0.5 - a
    t += a * _ONE_MINUS_ERF_SQRT2
    a *= ERF_SQRT2
    a += 0.5
    t *= a
    t = xp.log(t)
    t += poly.centre + _LOG4
    h *= _polynomial(t, _coefficients(poly, True, 2.0 * ERF_SQRT2 * factor))
    for power in powers:
        h *= power
    return h


def truncated_erfinv(v: Array, /, *, xp: Any, factor: float = 1.0) -> Array:
    """``factor * erfinv(ERF_SQRT2 * v)`` for ``|v| <= 1``, in float32 or float64.

    A single polynomial fitted on the interval that ``|v| <= 1`` maps to (``w <= 2.42``),
    cheaper than :func:`erfinv`'s pieces and just as accurate there.  ``v`` is not modified.
    """
    return truncated_erfinv_half(v * 0.5, xp=xp, factor=factor)
