"""The inverse error function, from elementary array-API operations only.

The array API standard has no ``erf``/``erfinv``, so vscale carries its own: the
variable ``w = -log((1 - y)(1 + y))`` makes ``erfinv(y) / y`` smooth, and piecewise
polynomials in ``w`` (centre) or ``sqrt(w)`` (tails) reach working precision with
degrees between 7 and 23.  Coefficients and their provenance are in
:mod:`vscale.core._erfinv_tables` (``tools/fit_erfinv.py`` derives them).

``(1 - y)(1 + y)`` instead of ``1 - y*y`` keeps the relative error of ``1 - y**2``
near ``2**-24`` (float32) even when ``|y|`` is within a few ulps of 1; ``1 - y*y``
would lose up to a quarter of its value there, and the tails would be wrong by percent.
"""

from __future__ import annotations

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
_ONE_MINUS_ERF_SQRT2_SQUARED = math.erfc(math.sqrt(2.0)) * (1.0 + ERF_SQRT2)


def _itemsize(x: Array, xp: Any) -> int:
    return xp.finfo(x.dtype).bits // 8


def _horner(t: Array, poly: tables.Polynomial, factor: float, xp: Any) -> Array:
    """``factor * poly(t - centre)``, evaluated with in-place updates of one buffer."""
    coefficients = [c * factor for c in poly.coefficients]
    t = t - poly.centre
    acc = t * coefficients[0]
    acc += coefficients[1]
    for c in coefficients[2:]:
        acc *= t
        acc += c
    return acc


def _log_one_minus_square(y: Array, xp: Any) -> Array:
    """``-log((1 - y)(1 + y))``, the table variable ``w``."""
    product = 1.0 - y
    product *= 1.0 + y
    w = xp.log(product)
    w *= -1.0
    return w


def erfinv(y: Array, /, *, xp: Any, factor: float = 1.0) -> Array:
    """``factor * erfinv(y)`` for a real float32 or float64 array ``y``.

    Values of magnitude 1 give ``±inf`` (times ``factor``) and values outside [-1, 1]
    give NaN, as ``scipy.special.erfinv`` does; the transforms never pass either.

    Parameters
    ----------
    y : array
        Real floating array (float32 or float64) of any shape.
    xp : namespace
        The array API namespace of ``y``.
    factor : float, optional
        Folded into the polynomial coefficients, so that scaling costs no extra pass.
    """
    pieces = _PIECES[_itemsize(y, xp)]
    w = _log_one_minus_square(y, xp)
    _, _, central = pieces[0]
    result = _horner(w, central, factor, xp)
    result *= y
    for lower, _, poly in pieces[1:]:
        _patch_tail(result, y, w, lower, poly, factor, xp)
    return _handle_endpoints(result, y, factor, xp)


def _patch_tail(
    result: Array, y: Array, w: Array, lower: float, poly: tables.Polynomial, factor: float, xp: Any
) -> None:
    """Overwrite ``result`` where ``w >= lower`` with the tail polynomial in ``sqrt(w)``."""
    in_tail = w >= lower
    if not bool(xp.any(in_tail)):
        return
    if _has_boolean_indexing(xp):
        tail = _horner(xp.sqrt(w[in_tail]), poly, factor, xp)
        tail *= y[in_tail]
        result[in_tail] = tail
    else:
        tail = _horner(xp.sqrt(w), poly, factor, xp)
        tail *= y
        result[...] = xp.where(in_tail, tail, result)


def _handle_endpoints(result: Array, y: Array, factor: float, xp: Any) -> Array:
    magnitude = xp.abs(y)
    if bool(xp.all(magnitude < 1.0)):
        return result
    inf = xp.asarray(math.copysign(math.inf, factor), dtype=result.dtype, device=_device(y))
    result = xp.where(magnitude == 1.0, xp.where(y > 0, inf, -inf), result)
    return xp.where(magnitude > 1.0, xp.asarray(math.nan, dtype=result.dtype), result)


def _device(x: Array) -> Any:
    from .._compat import device

    return device(x)


def _has_boolean_indexing(xp: Any) -> bool:
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return True
    return bool(info().capabilities().get("boolean indexing", True))


def truncated_erfinv(v: Array, /, *, xp: Any, factor: float = 1.0) -> Array:
    """``factor * erfinv(ERF_SQRT2 * v)`` for ``|v| <= 1``, in float32 or float64.

    A single polynomial fitted on the interval that ``|v| <= 1`` maps to (``w <= 2.42``),
    cheaper than :func:`erfinv`'s pieces and just as accurate there.
    """
    poly = _TRUNCATED[_itemsize(v, xp)]
    # 1 - (c v)**2 as (1 - v)(1 + v) + (1 - c**2) v**2: a sum of two positive terms, each
    # with a relative error of a few units in the last place.  Forming y = c v first would
    # round y, and 1 - y near |y| = 0.95 would amplify that rounding twentyfold.
    product = 1.0 - v
    product *= 1.0 + v
    square = v * v
    square *= _ONE_MINUS_ERF_SQRT2_SQUARED
    product += square
    w = xp.log(product)
    w *= -1.0
    result = _horner(w, poly, factor * ERF_SQRT2, xp)
    result *= v
    return result
