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
from typing import Any, Literal, NamedTuple

Array = Any
Kind = Literal["truncated_normal", "untruncated_normal", "uniform"]

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


def apply_complex(u: Array, v: Array, transform: ComplexTransform, complex_dtype: Any, /, *, xp: Any) -> Array:
    """Complex values from two equally long real chunks of uniform draws in ``[0, 1)``.

    The draws are moved to the midpoints of their grid cells (``+ eps/4``), so that the
    modulus and the angle never hit an endpoint and both are symmetric on the grid.
    ``u`` and ``v`` are overwritten.
    """
    quarter_eps = xp.finfo(u.dtype).eps / 4
    u += quarter_eps
    v += quarter_eps
    if transform.kind == "truncated_normal":
        u *= -_KEPT
        squared = -xp.log1p(u)
    elif transform.kind == "untruncated_normal":
        squared = -xp.log1p(-u)
    else:
        squared = u
    modulus = xp.sqrt(squared)
    modulus *= transform.factor
    v *= 2.0 * math.pi
    real = xp.cos(v)
    real *= modulus
    imag = xp.sin(v)
    imag *= modulus
    return xp.astype(real, complex_dtype) + xp.astype(imag, complex_dtype) * 1j
