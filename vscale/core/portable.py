"""The portable transforms: JAX's constructions, from correctly rounded operations only.

With ``prng="threefry"`` the draws are JAX's (:mod:`vscale.core.threefry`) and so are
the constructions that turn them into values: ``jax.random.uniform``'s
``f * (max - min) + min``, ``jax.random.normal``'s ``sqrt(2) * erfinv(u)`` on
``[nextafter(-1, 0), 1)`` and ``jax.random.truncated_normal``'s
``sqrt(2) * erfinv(u)`` with ``u`` uniform on ``[erf(-sqrt(2)), erf(sqrt(2)))``, each
multiplied by the deviation as ``jax.nn.initializers.variance_scaling`` does.

Every operation here is one IEEE 754 ``+ - * /`` or ``sqrt``, a comparison, ``where``
or ``abs``: those are correctly rounded on every library and device, so a value is the
same bits wherever it is computed.  ``log`` is not (NumPy, torch and XLA differ on a
fifth of float32 inputs), so :func:`log` is built from those operations: an exact
range reduction by powers of two, selected with ``where``, then fdlibm's polynomial.
The uniform's values are JAX's bit for bit; the normals differ from JAX's only by the
inverse error function (vscale's polynomials against XLA's), a few ulps.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .erfinv import erfinv_half
from .precision import largest_at_most
from .transforms import TRUNCATED_STD, Kind, _clip

Array = Any

# fdlibm's log (e_log.c, e_logf.c): ln 2 split so that k * LN2_HI is exact, and the
# minimax coefficients of (log(1+s) - log(1-s)) / s - 2 in s**2, even and odd terms.
_LN2 = {
    64: (6.93147180369123816490e-01, 1.90821492927058770002e-10),
    32: (6.9313812256e-01, 9.0580006145e-06),
}
_LG = {
    64: (
        6.666666666666735130e-01,
        3.999999999940941908e-01,
        2.857142874366239149e-01,
        2.222219843214978396e-01,
        1.818357216161805012e-01,
        1.531383769920937332e-01,
        1.479819860511658591e-01,
    ),
    32: (0.66666662693, 0.40000972152, 0.28498786688, 0.24279078841),
}
_SQRT_HALF = math.sqrt(0.5)


def log(x: Array, /, *, xp: Any, smallest: float) -> Array:
    """Natural log of ``x`` in ``[smallest, 1]`` (float32 or float64), within 1 ulp.

    ``x`` (overwritten) is scaled by a power of two ``2**-e`` into
    ``[sqrt(1/2), sqrt(2))`` (exact: only the exponent changes), and
    ``log(x) = e ln 2 + log(1 + f)`` with fdlibm's ``f - f**2/2 + s (f**2/2 + R(s))``,
    ``s = f / (2 + f)``.  The scaling never branches on the data: 0/1 masks in the
    float dtype select the factors (several times faster than ``where``, which NumPy
    does not vectorize).  Narrow ranges (the truncated normal's, down to ``2**-5``)
    compare ``x`` once with each threshold ``sqrt(1/2) 2**-k``; wide ones halve the
    range in binary steps.
    """
    bits = xp.finfo(x.dtype).bits
    levels = max(0, math.ceil(math.log2(_SQRT_HALF / smallest)))
    if levels <= _LINEAR_LEVELS:
        # The masks nest (x below a threshold is below the larger ones), so
        # 1 + sum(mask_k 2**(k-1)) is exactly 2**(number of masks set).
        scale = xp.ones_like(x)
        exponent = xp.zeros_like(x)
        for k in range(1, levels + 1):
            below = xp.astype(x < _SQRT_HALF * 2.0 ** (1 - k), x.dtype)
            exponent -= below
            below *= 2.0 ** (k - 1)
            scale += below
        x *= scale
    else:
        exponent = xp.zeros_like(x)
        steps = []
        reach = levels - 1  # into [1/2, 1] first, then the last step to sqrt(1/2)
        k = 1
        while k <= reach:
            steps.append(k)
            reach -= k
            k *= 2
        if reach > 0:
            steps.append(reach)
        for step in [*sorted(steps, reverse=True), None]:
            below = xp.astype(x < (_SQRT_HALF if step is None else 2.0**-step), x.dtype)
            k = 1 if step is None else step
            exponent -= below * k
            below *= 2.0**k - 1.0
            below += 1.0
            x *= below
    f = x
    f -= 1.0  # exact: x lies in [sqrt(1/2), sqrt(2))
    s = f + 2.0
    s = f / s
    z = s * s
    w = z * z
    lg = _LG[bits]
    r = _horner(w, lg[0::2])
    r *= z
    even = _horner(w, lg[1::2])
    even *= w
    r += even
    half_square = f * f
    half_square *= 0.5
    r += half_square
    r *= s
    ln2_hi, ln2_lo = _LN2[bits]
    exponent_lo = exponent * ln2_lo
    r += exponent_lo
    r -= half_square
    r += f  # fdlibm's -((hfsq - r) - f), negated exactly
    exponent *= ln2_hi
    exponent += r
    return exponent


#: Thresholds compared one by one up to this many halvings of the range, else binary steps.
_LINEAR_LEVELS = 6


def _horner(w: Array, coefficients: tuple[float, ...]) -> Array:
    """``c[0] + w (c[1] + w (c[2] + ...))`` in fdlibm's order (lowest degree first)."""
    acc = w * coefficients[-1]
    acc += coefficients[-2]
    for c in reversed(coefficients[:-2]):
        acc *= w
        acc += c
    return acc


class PortableTransform(NamedTuple):
    """JAX's construction of ``kind`` from uniforms ``f`` on JAX's grid of ``[0, 1)``.

    ``u = max(low, f * width + low)`` (``low``, ``width`` in the working dtype, as JAX
    rounds them; XLA fuses the product and the sum into one rounding), then
    ``factor * u`` (uniform) or ``factor * erfinv(u)`` (normals), clipped to
    ``[-bound, bound]``; ``factor`` includes the deviation and, for the normals,
    ``sqrt(2)``.  ``smallest`` bounds ``(1 - u)(1 + u)`` from below; ``width_split`` is
    ``width`` as a sum of two halves of its significand (Veltkamp's split, for
    :func:`fused_multiply_add`), and ``split`` the splitting constant of the dtype.
    """

    kind: Kind
    factor: float
    bound: float
    low: float
    width: float
    smallest: float
    width_split: tuple[float, float] = (0.0, 0.0)
    split: float = 0.0


def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """``s = fl(a + b)`` and the exact ``a + b - s`` (Knuth's TwoSum; no branch, no FMA)."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


def _has_float64(xp: Any) -> bool:
    """Whether the namespace makes float64 arrays (JAX only with x64 enabled)."""
    try:
        return "float64" in xp.__array_namespace_info__().dtypes()
    except (AttributeError, TypeError):
        return False


def fused_multiply_add(f: Array, transform: PortableTransform, /, *, xp: Any) -> Array:
    """``f * width + low`` rounded once, as XLA's fused multiply-add gives it.

    From correctly rounded operations only: Dekker's exact product ``q + r = f * width``
    (Veltkamp's split of ``f``; ``width``'s is precomputed), then ``s + e = low + q`` and
    ``t + tt = e + r`` by TwoSum, so that the exact result is ``s + t + tt``, and
    ``z = fl(s + t)``.  ``z`` is the correctly rounded result unless ``s + t`` is a tie
    (``tt`` is below the spacing of ``s + t``, so it can only decide a tie) that ``tt``
    breaks away from ``z``; then the other neighbour ``z + 2 (s + t - z)`` is.
    """
    width, low = transform.width, transform.low
    if xp.finfo(f.dtype).bits == 32 and _has_float64(xp):
        # f has 23 significant bits and width 24, so f * width + low is a multiple of 2**-46
        # below 2 in magnitude: exact in float64, then rounded once.  The same bits as the
        # emulation below, at a fraction of its passes.
        wide = xp.astype(f, xp.float64)
        wide *= width
        wide += low
        return xp.astype(wide, f.dtype)
    width_high, width_low = transform.width_split
    scaled = f * transform.split
    f_high = scaled - (scaled - f)
    f_low = f - f_high
    q = f * width
    r = f_high * width_high - q
    r += f_high * width_low
    r += f_low * width_high
    r += f_low * width_low
    s, e = _two_sum(q, xp.full_like(q, low))
    t, tt = _two_sum(e, r)
    z, err = _two_sum(s, t)
    twice = err * 2.0
    neighbour = z + twice
    same_side = ((tt > 0) & (err > 0)) | ((tt < 0) & (err < 0))
    tie = (neighbour - z) == twice
    # z + 2 err is exact where it is a tie's other neighbour; elsewhere the mask adds +0.
    step = xp.astype(tie & same_side, z.dtype)
    step *= twice
    z += step
    return z


def apply(f: Array, transform: PortableTransform, /, *, xp: Any) -> Array:
    """Values of ``transform`` from a chunk of uniforms ``f`` (overwritten)."""
    low, width = transform.low, transform.width
    if transform.kind == "uniform":
        f *= width
        f += low  # exact for JAX's [-1, 1): 2f - 1 needs no rounding
        f *= transform.factor
        return _clip(f, transform.bound, xp) if transform.bound < abs(transform.factor) else f
    if transform.kind == "untruncated_normal":
        # u = 2f + low is exact (width is 2); so is h = u / 2 = f + low / 2, in one step.
        f += low / 2.0
        h = f
    else:
        h = xp.maximum(fused_multiply_add(f, transform, xp=xp), low)
        h *= 0.5
    within = transform.kind == "truncated_normal"
    values = erfinv_half(
        h,
        xp=xp,
        factor=transform.factor,
        log=lambda p: log(p, xp=xp, smallest=transform.smallest),
        within_truncation=within,
    )
    return _clip(values, transform.bound, xp) if math.isfinite(transform.bound) else values


# JAX's constants.  ``jax.nn.initializers.variance_scaling`` rounds ``scale / n`` to the dtype,
# then computes ``sqrt(3 * variance)`` (uniform), ``sqrt(variance)`` (normal) or
# ``sqrt(variance) / 0.87962566103423978`` (truncated normal) in that dtype; the uniform
# and truncated normal draw on ``[-1, 1)`` and ``[erf(-sqrt(2)), erf(sqrt(2)))``, the
# normal on ``[nextafter(-1, 0), 1)``.  The same roundings are made here in NumPy scalars,
# so the uniform's values are JAX's bit for bit.


def portable_transform(kind: Kind, scale: float, n: float, working: str, output: str) -> PortableTransform:
    """JAX's construction of ``kind`` for variance ``scale / n``, in the ``working`` dtype."""
    real = np.float64 if working == "float64" else np.float32
    variance = real(scale / n)
    if kind == "uniform":
        limit = float(np.sqrt(real(3) * variance))
        return PortableTransform("uniform", limit, largest_at_most(limit, output), -1.0, 2.0, 1.0)
    stddev = np.sqrt(variance)
    if kind == "untruncated_normal":
        low = np.nextafter(real(-1), real(0))
        width = float(real(1) - low)
        return PortableTransform(kind, math.sqrt(2.0) * float(stddev), math.inf, float(low), width, _grid(real))
    stddev = stddev / real(TRUNCATED_STD)
    lower, upper = real(math.erf(-math.sqrt(2.0))), real(math.erf(math.sqrt(2.0)))
    bound = largest_at_most(2.0 * float(stddev), output)
    smallest = float((real(1) - upper) * (real(1) + upper)) / 2.0
    width = upper - lower
    split = real(2 ** ((np.finfo(real).nmant + 2) // 2) + 1)  # Veltkamp: 2**ceil(p/2) + 1
    scaled = width * split
    width_high = scaled - (scaled - width)
    return PortableTransform(
        kind,
        math.sqrt(2.0) * float(stddev),
        bound,
        float(lower),
        float(width),
        smallest,
        (float(width_high), float(width - width_high)),
        float(split),
    )


def _grid(real: Any) -> float:
    """Least ``(1 - u)(1 + u)`` of the normal's uniforms (``u`` at least ``eps`` from 1), halved for roundings."""
    return float(np.finfo(real).eps) / 2.0
