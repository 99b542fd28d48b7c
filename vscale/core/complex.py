"""Complex-valued VarianceScaling: rotation-invariant draws with ``E|w|^2 = scale / n``.

A complex weight is ``w = s * r * exp(i * theta)`` with ``theta`` uniform on
``[0, 2 pi)`` and independent of the modulus ``r``, so its distribution is invariant
under rotation: ``E[w] = 0``, ``E[w^2] = 0``, and the real and imaginary parts are
uncorrelated with the same variance ``scale / (2 n)``.  The modulus decides the
distribution (``sigma^2 = scale / n``):

``"untruncated_normal"``
    The circular complex normal: ``r^2 ~ Exp(1)``, ``s = sigma``.  Real and imaginary
    parts are independent ``N(0, sigma^2 / 2)``.
``"truncated_normal"``
    The same normal with its modulus truncated at two of its deviations (the deviation
    before truncation is ``sqrt(E|z|^2) = 1``): ``r^2 ~ Exp(1)`` conditioned on
    ``r^2 <= 4``, rescaled by :data:`COMPLEX_TRUNCATED_STD` so that ``E|w|^2 = sigma^2``
    exactly; ``|w| <= 2 sigma / COMPLEX_TRUNCATED_STD``.
``"uniform"``
    Uniform on the disk of radius ``sqrt(2) * sigma`` (``r^2 ~ U(0, 1)``,
    ``s = sqrt(2) sigma``), whose ``E|w|^2`` is ``radius^2 / 2 = sigma^2``.

Only the circular normal has independent real and imaginary parts: by Maxwell's theorem
no other rotation-invariant distribution does, so the truncated and uniform variants have
uncorrelated, identically distributed, but dependent parts.

The constant: for ``X ~ Exp(1)`` and ``c = 4``,
``E[X | X <= c] = 1 - c e^{-c} / (1 - e^{-c})``, hence
``COMPLEX_TRUNCATED_STD = sqrt(1 - 4 e^{-4} / (1 - e^{-4})) = 0.96196...``.  (JAX uses
0.95311164380491208, which makes its complex truncated normal's variance about 1.9 %
too large.)
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .transforms import Kind

Array = Any

# P(|z|^2 <= 4) is 1 - e^{-4}; the truncated modulus comes from the inverse CDF of
# Exp(1) restricted to that share, r^2 = -log(1 - (1 - e^{-4}) u).
_KEPT = -math.expm1(-4.0)

#: ``sqrt(E[|z|^2 | |z| <= 2])`` for the circular standard complex normal ``z``
#: (``E|z|^2 = 1``): the deviation that the modulus truncation at 2 leaves.
COMPLEX_TRUNCATED_STD = math.sqrt(1.0 - 4.0 * math.exp(-4.0) / _KEPT)


class ComplexTransform(NamedTuple):
    """``w = factor * r(u) * exp(2 pi i v)`` for uniform draws ``u`` (modulus), ``v`` (angle)."""

    kind: Kind
    factor: float

    @property
    def bound(self) -> float:
        """Largest modulus the transform can produce (``inf`` for the untruncated normal).

        ``r <= 2`` for the truncated modulus and ``r <= 1`` on the disk.
        """
        if self.kind == "truncated_normal":
            return 2.0 * self.factor
        if self.kind == "uniform":
            return self.factor
        return math.inf


def make_complex_transform(kind: str, stddev: float) -> ComplexTransform:
    """The transform whose draws have ``E|w|^2 = stddev**2``."""
    if kind == "truncated_normal":
        return ComplexTransform("truncated_normal", stddev / COMPLEX_TRUNCATED_STD)
    if kind == "uniform":
        return ComplexTransform("uniform", math.sqrt(2.0) * stddev)
    return ComplexTransform("untruncated_normal", stddev)


def complex_bound(kind: str, stddev: float) -> float:
    """Largest modulus of the transform with ``E|w|^2 = stddev**2``."""
    return make_complex_transform(kind, stddev).bound


def _shrink(factor: float, eps: float) -> float:
    """``factor`` lowered by ``8 eps`` (relative): room for the roundings of the modulus.

    The computed ``|w|`` is ``sqrt(re**2 + im**2)`` of rounded products of the rounded
    modulus with a rounded cosine and sine; each step adds at most about ``eps`` of
    relative error, so without this margin a value can exceed :attr:`ComplexTransform.bound`
    by an ulp.  The deviation moves by ``8 eps`` (``1e-6`` in float32), far below what any
    statistic can see.
    """
    return factor * (1.0 - 8.0 * eps)


def apply_complex(u: Array, v: Array, transform: ComplexTransform, complex_dtype: Any, /, *, xp: Any) -> Array:
    """Complex values from two equally long real arrays of uniform draws in ``[0, 1)``.

    Draws arrive on the grid ``k * eps/2``.  Each is moved to the midpoint of its grid
    cell, ``p = u + eps/4``, which is never 0 or 1.  ``p`` itself may not be representable
    near 1, but ``h = p - 1/2 = u - (1/2 - eps/4)`` is (one exact subtraction, as in
    :mod:`vscale.core.transforms`), and so is ``lo = 1/2 - |h| = min(p, 1 - p)``, which
    is at least ``eps/4``.  The modulus uses ``lo`` on the side where it equals ``1 - p``,
    so ``-log(1 - p)`` is finite for every draw (at most ``-log(eps/4)``).  The angle is
    ``2 pi h`` in ``(-pi, pi)``.  Neither input is modified.
    """
    eps = float(xp.finfo(u.dtype).eps)
    offset = (1.0 - eps / 2) / 2
    h = u - offset
    lo = 0.5 - xp.abs(h)
    if transform.kind == "untruncated_normal":
        # -log(1 - p): 1 - p is lo where h >= 0 (p >= 1/2), and 1 - lo where h < 0.
        squared = xp.where(h >= 0.0, -xp.log(lo), -xp.log1p(-lo))
    elif transform.kind == "truncated_normal":
        # r^2 = -log(1 - KEPT p) <= 4 in exact arithmetic; the clip removes the rounding.
        squared = xp.clip(-xp.log1p((h + 0.5) * -_KEPT), 0.0, 4.0)
    else:
        squared = xp.clip(h + 0.5, 0.0, 1.0)
    modulus = xp.sqrt(squared) * _shrink(transform.factor, eps)
    angle = (v - offset) * (2.0 * math.pi)
    real = xp.cos(angle) * modulus
    imag = xp.sin(angle) * modulus
    return xp.astype(real, complex_dtype) + xp.astype(imag, complex_dtype) * 1j


def complex_from_normals(z0: Array, z1: Array, transform: ComplexTransform, complex_dtype: Any, /, *, xp: Any) -> Array:
    """The circular complex normal from two arrays of independent standard normals.

    Real and imaginary parts of the circular normal with ``E|w|^2 = factor**2`` are
    independent ``N(0, factor**2 / 2)``: a native normal generator gives them directly.
    """
    scale = transform.factor / math.sqrt(2.0)
    return xp.astype(z0 * scale, complex_dtype) + xp.astype(z1 * scale, complex_dtype) * 1j
