"""Derive the polynomial coefficients of vscale's inverse error function.

Run ``python tools/fit_erfinv.py`` to reprint the tables that live in
``vscale/_core/_erfinv_tables.py``.  Each table approximates ``g = erfinv(y) / y``
(or ``erfinv(y)`` itself in the tails) on one interval of a smooth variable,
following the layout of M. Giles, "Approximating the erfinv function", GPU Computing
Gems Jade (2011):

* centre: ``w = -log((1 - y)(1 + y))`` and ``g`` is a polynomial in ``w - c``;
* tails:  ``s = sqrt(w)`` and ``g`` is a polynomial in ``s - c``.

The coefficients are our own: Chebyshev interpolation of ``g`` computed with mpmath
at 60 significant digits, converted to the monomial basis around the interval centre.
The degree of each table is the smallest that meets the target relative error of
its working precision, checked on a dense grid in mpmath.
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 60


def g_of_w(w):
    y = mp.sqrt(-mp.expm1(-w))
    if y == 0:
        return mp.sqrt(mp.pi) / 2
    return mp.erfinv(y) / y


def g_of_s(s):
    return g_of_w(s * s)


def chebyshev_fit(func, lo, hi, degree):
    """Monomial coefficients (highest first) of the interpolant in t = x - centre."""
    n = degree + 1
    centre = (lo + hi) / 2
    half = (hi - lo) / 2
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    values = [func(centre + half * x) for x in nodes]
    cheb = []
    for j in range(n):
        acc = mp.fsum(values[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n) for k in range(n))
        cheb.append(acc * 2 / n)
    cheb[0] /= 2
    # Chebyshev -> monomial in x on [-1, 1] (T_{j+1} = 2x T_j - T_{j-1}), then x = t / half.
    mono = [mp.mpf(0)] * n
    t_prev, t_cur = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]
    for j in range(n):
        poly = t_prev if j == 0 else t_cur if j == 1 else None
        if j >= 2:
            nxt = [mp.mpf(0)] * (j + 1)
            for i, c in enumerate(t_cur):
                nxt[i + 1] += 2 * c
            for i, c in enumerate(t_prev):
                nxt[i] -= c
            t_prev, t_cur = t_cur, nxt
            poly = t_cur
        for i, c in enumerate(poly):
            mono[i] += cheb[j] * c
    coeffs = [mono[i] / half**i for i in range(n)]
    return centre, list(reversed(coeffs))


def horner(coeffs, t):
    acc = mp.mpf(0)
    for c in coeffs:
        acc = acc * t + c
    return acc


def max_rel_error(func, lo, hi, centre, coeffs, points=2000):
    worst = mp.mpf(0)
    for k in range(points + 1):
        x = lo + (hi - lo) * k / points
        exact = func(x)
        approx = horner([mp.mpf(float(c)) for c in coeffs], x - centre)
        worst = max(worst, abs(approx / exact - 1))
    return worst


def fit(name, func, lo, hi, target):
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    for degree in range(2, 40):
        centre, coeffs = chebyshev_fit(func, lo, hi, degree)
        err = max_rel_error(func, lo, hi, centre, coeffs, points=400)
        if err < target:
            err = max_rel_error(func, lo, hi, centre, coeffs)
            if err < target:
                break
    print(f"# {name}: degree {degree}, max relative error {float(err):.2e} on [{float(lo)}, {float(hi)}]")
    print(f"{name} = Polynomial(")
    print(f"    centre={float(centre)!r},")
    print("    coefficients=(")
    for c in coeffs:
        print(f"        {float(c)!r},")
    print("    ),")
    print(")")


if __name__ == "__main__":
    # Truncated normal: |y| <= erf(sqrt(2)), so w <= -log(1 - erf(sqrt(2))**2) < 2.43.
    w_trunc = float(-mp.log(1 - mp.erf(mp.sqrt(2)) ** 2)) + 1e-3
    fit("TRUNCATED_F32", g_of_w, 0, w_trunc, 2.0**-26)
    fit("TRUNCATED_F64", g_of_w, 0, w_trunc, 1.2e-16)
    # Untruncated: float32 draws reach |y| = 1 - 2**-24, i.e. w < 17.33 (s < 4.17).
    fit("CENTRAL_F32", g_of_w, 0, 5, 2.0**-26)
    fit("TAIL_F32", g_of_s, mp.sqrt(5), 4.2, 2.0**-26)
    # float64 draws reach |y| = 1 - 2**-53, i.e. w < 37.43 (s < 6.12).
    fit("CENTRAL_F64", g_of_w, 0, 6.25, 1.2e-16)
    fit("TAIL_F64", g_of_s, 2.5, 4.0, 1.2e-16)
    fit("FAR_TAIL_F64", g_of_s, 4.0, 6.2, 1.2e-16)
