"""``vscale.torch.trunc_normal_`` with any window: SciPy's ``truncnorm``, mpmath, hostile draws.

The values are the inverse CDF of the truncated normal at vscale's uniforms, in float64
(see the function's docstring).  The oracles: SciPy's ``truncnorm`` (Kolmogorov-Smirnov,
p > 0.0001 as upstream PyTorch uses, and the first two moments within 5 standard errors),
mpmath's normal CDF at 50 digits for the quantile function itself, and the float64 result
rounded once for float16/bfloat16.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")
mpmath = pytest.importorskip("mpmath")

import vscale.torch as vt  # noqa: E402
from vscale.torch import _Window  # noqa: E402  (the quantile function, checked against mpmath)

INF = math.inf
# (mean, std, a, b): two-sided, one-sided, far tails on both sides (8 to 9 standard
# deviations; beyond 37, where Phi underflows and the logarithmic path runs), narrow,
# a mean far outside the window, an asymmetric straddling window, and a wide one.
WINDOWS = [
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 1.0, 3.0, INF),
    (0.0, 1.0, -INF, -3.0),
    (0.0, 1.0, 8.0, 9.0),
    (0.0, 1.0, -9.0, -8.0),
    (0.0, 1.0, -45.0, -40.0),
    (0.0, 1.0, 40.0, 41.0),
    (0.0, 1.0, 999.0, 1000.0),
    (0.0, 1.0, -1e-6, 1e-6),
    (0.0, 1.0, 1.0, 1.0 + 1e-9),
    (5.0, 0.5, -1.0, 0.0),
    (0.5, 2.0, -1.0, 10.0),
    (0.0, 1.0, -8.5, 8.5),
    (0.0, 0.02, -2.0, 2.0),  # timm's default: the window holds the whole normal
]
N = 20000


def _ids(window):
    return "mean={}-std={}-[{},{}]".format(*window)


def _fill(window, dtype="float64", seed=0, n=N):
    mean, std, a, b = window
    tensor = torch.empty(n, dtype=getattr(torch, dtype))
    return vt.trunc_normal_(tensor, mean, std, a, b, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("window", WINDOWS, ids=_ids)
def test_the_distribution_is_scipys_truncnorm(window, dtype):
    mean, std, a, b = window
    alpha, beta = (a - mean) / std, (b - mean) / std
    values = _fill(window, dtype).double().numpy()
    assert np.isfinite(values).all() and values.min() >= a and values.max() <= b
    z = (values - mean) / std
    oracle = stats.truncnorm(alpha, beta)
    resolution = np.finfo(np.float32 if dtype == "float32" else np.float64).eps * max(abs(a), abs(b), 1.0) / std
    if beta - alpha > 1e4 * resolution:  # windows the dtype resolves (not [1, 1 + 1e-9] in float32)
        assert stats.kstest(z, oracle.cdf).pvalue > 0.0001
        centre, variance, fourth = _moments(alpha, beta)
        assert abs(z.mean() - centre) < 5 * math.sqrt(variance / N)
        # The sample variance's standard error: sqrt((mu4 - sigma**4) / n).
        assert abs(z.var() - variance) < 5 * math.sqrt((fourth - variance**2) / N)


def _moments(alpha, beta):
    """Mean, variance and fourth central moment of the standard normal truncated to
    [alpha, beta], by mpmath's quadrature at 50 digits (SciPy's fail 999 deviations out),
    on the part of the window that holds all but e**-1000 of its mass."""
    with mpmath.workdps(50):
        near = 0.0 if alpha <= 0 <= beta else alpha if alpha > 0 else beta  # where the density peaks
        lo, hi = max(alpha, near - 45.0), min(beta, near + 45.0)
        points = [
            mpmath.mpf(x) for x in np.unique(np.clip(near + np.array([-45, -8, -2, -0.1, 0, 0.1, 2, 8, 45]), lo, hi))
        ]

        def moment(k, centre=0):
            return mpmath.quad(lambda x: (x - centre) ** k * mpmath.exp((near**2 - x**2) / 2), points)

        mass = moment(0)
        centre = moment(1) / mass
        return float(centre), float(moment(2, centre) / mass), float(moment(4, centre) / mass)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize(
    "window", [w for w in WINDOWS if min((w[0] - w[2]) / w[1], (w[3] - w[0]) / w[1]) < 9], ids=_ids
)
def test_narrow_dtypes_are_the_float64_values_rounded_once(window, dtype):
    """Full resolution: the float64 values (the same draws) rounded to the dtype, then kept
    inside [a, b] where rounding to nearest would leave it."""
    mean, std, a, b = window
    wide = _fill(window, "float64", seed=3)
    narrow = _fill(window, dtype, seed=3)
    target = getattr(torch, dtype)
    rounded = wide.to(target)
    if torch.equal(narrow, rounded):
        return
    # Only values that rounding took outside [a, b] may differ, and they sit on the bound.
    outside = (rounded.double() < a) | (rounded.double() > b)
    assert outside.any() and torch.equal(narrow[~outside], rounded[~outside])
    assert bool(((narrow[outside].double() >= a) & (narrow[outside].double() <= b)).all())


def _quantile(alpha, beta, q):
    """The truncated normal's quantile at mass fraction q, at 60 digits.  Windows above the
    mean are mirrored (the quantile of ``[-beta, -alpha]`` at ``1 - q``, negated), so that
    Phi is small there, and mpmath's numbers, whose exponents are unbounded, keep Phi's
    relative precision whatever the tail."""
    if alpha + beta > 0:
        return -_quantile(-beta, -alpha, 1 - q)
    with mpmath.workdps(60):
        lo, hi = mpmath.ncdf(alpha), mpmath.ncdf(beta)
        log_target = mpmath.log(lo + q * (hi - lo))
        low = mpmath.mpf(max(alpha, beta - 60.0))
        high = mpmath.mpf(beta if math.isinf(alpha) else min(beta, alpha + 60.0))
        for _ in range(220):  # bisection: the bracket (at most 60 wide) shrinks below 2**-210
            middle = (low + high) / 2
            if mpmath.log(mpmath.ncdf(middle)) < log_target:
                low = middle
            else:
                high = middle
        return float((low + high) / 2)


QUANTILE_WINDOWS = [(-2.0, 2.0), (3.0, INF), (8.0, 9.0), (-9.0, -8.0), (-45.0, -40.0), (40.0, 41.0),
                    (-1000.0, -999.0), (999.0, 1000.0), (-INF, -50.0), (0.0, 1e-3), (-8.5, 8.5), (-1.0, 10.0)]  # fmt: skip
GRID = [2.0**-53, 1e-9, 0.01, 0.25, 0.5, 0.75, 0.99, 1 - 1e-9, 1 - 2.0**-53]


@pytest.mark.parametrize(("alpha", "beta"), QUANTILE_WINDOWS)
def test_the_quantile_function_is_mpmaths(alpha, beta):
    """Within 1e-12 relative (or 1e-12 absolute near 0) of the 50-digit quantile: far below
    float32's resolution, and a few thousand float64 ulps at worst, where the window's
    CDF difference itself is that uncertain."""
    draws = [2.0 * q - 1.0 for q in GRID]  # the uniforms on (-1, 1); their mass fraction is (1 + v) / 2 exactly
    ours = _Window.of(alpha, beta).quantiles(torch.tensor(draws, dtype=torch.float64), torch).tolist()
    for v, value in zip(draws, ours, strict=True):
        q = (1 + mpmath.mpf(v)) / 2
        exact = _quantile(alpha, beta, q)
        assert value == pytest.approx(exact, rel=1e-12, abs=1e-12), (alpha, beta, v)


HOSTILE = [-1.0, -1.0 + 2.0**-53, -0.5, -0.0, 0.0, 0.5, 1.0 - 2.0**-53, 1.0]
HOSTILE_WINDOWS = [(-INF, INF), (-INF, 0.0), (0.0, INF), (-INF, -1e3), (1e3, INF), (-1e300, 1e300), (5.0, 5.0),
                   (-INF, -37.0), (-37.5, -36.5), (-2.0, 2.0), (1e-300, 2e-300)]  # fmt: skip


@pytest.mark.parametrize(("alpha", "beta"), HOSTILE_WINDOWS)
def test_draws_at_the_ends_give_finite_values_inside_the_window(alpha, beta):
    """The uniforms at and next to -1 and 1 (the portable stream gives -1 itself), on
    one-sided, degenerate, enormous and underflowing windows: never NaN, never outside."""
    v = torch.tensor(HOSTILE, dtype=torch.float64)
    z = _Window.of(alpha, beta).quantiles(v, torch)
    assert bool(torch.isfinite(z).all()), z
    assert bool(((z >= alpha) & (z <= beta)).all()), z


def test_values_are_monotone_in_the_draw():
    """The inverse CDF is increasing: sorted draws give sorted values, across the switch
    from the CDF to the complementary CDF at the median and on mirrored windows."""
    v = torch.linspace(-1 + 2.0**-40, 1 - 2.0**-40, 100001, dtype=torch.float64)
    for alpha, beta in [(-2.0, 2.0), (1.0, 3.0), (-3.0, -1.0), (-45.0, -40.0), (40.0, 41.0), (-8.5, 8.5)]:
        z = _Window.of(alpha, beta).quantiles(v.clone(), torch)
        assert bool((z[1:] >= z[:-1]).all()), (alpha, beta)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"std": 0.0}, ValueError, r"`std` must be positive.*std=0\.0"),
        ({"std": -1.0}, ValueError, r"`std` must be positive"),
        ({"std": math.nan}, ValueError, r"`std` must be a real number"),
        ({"std": INF}, ValueError, r"`std` must be finite"),
        ({"mean": INF}, ValueError, r"`mean` must be finite"),
        ({"a": 2.0, "b": 1.0}, ValueError, r"a <= b.*a=2\.0, b=1\.0"),
        ({"a": math.nan}, ValueError, r"`a` must be a real number"),
        ({"b": "1"}, ValueError, r"`b` must be a real number"),
        ({"std": 1e5, "a": -INF, "b": INF}, ValueError, r"beyond the float16 range"),
        ({"a": 1.0001, "b": 1.0002}, ValueError, r"leave no float16 value in \[a, b\]"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_drawn(kwargs, error, match):
    tensor = torch.full((50,), 7.0, dtype=torch.float16)
    generator = torch.Generator().manual_seed(1)
    state = generator.get_state()
    with pytest.raises(error, match=match):
        vt.trunc_normal_(tensor, **kwargs, generator=generator)
    assert bool((tensor == 7.0).all()) and torch.equal(generator.get_state(), state)


def test_complex_tensors_are_refused():
    with pytest.raises(TypeError, match="must be real"):
        vt.trunc_normal_(torch.empty(4, dtype=torch.complex64))


def test_a_degenerate_window_gives_its_point():
    assert bool((_fill((0.0, 1.0, 0.75, 0.75), "float32", n=100) == 0.75).all())


def test_views_get_the_values_of_their_positions():
    """Strided and transposed views are filled by logical position, like contiguous tensors."""
    whole = vt.trunc_normal_(torch.empty(30, 20), 0.0, 1.0, 0.5, 3.0, generator=torch.Generator().manual_seed(5))
    base = torch.zeros(20, 60)
    view = base.t()[::2]  # (30, 20), strided
    vt.trunc_normal_(view, 0.0, 1.0, 0.5, 3.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(view, whole) and bool((base.t()[1::2] == 0).all())


def test_manual_seed_governs_the_values_and_each_call_is_new():
    torch.manual_seed(8)
    first = vt.trunc_normal_(torch.empty(100), a=1.0, b=4.0)
    second = vt.trunc_normal_(torch.empty(100), a=1.0, b=4.0)
    torch.manual_seed(8)
    assert torch.equal(first, vt.trunc_normal_(torch.empty(100), a=1.0, b=4.0))
    assert not torch.equal(first, second)


def test_the_portable_stream_gives_the_same_values_for_the_same_generator():
    def fill(tensor):
        return vt.trunc_normal_(
            tensor, 0.0, 1.0, -1.0, 3.0, generator=torch.Generator().manual_seed(9), prng="threefry"
        )

    values = fill(torch.empty(1000, dtype=torch.float64))
    assert values.min() >= -1.0 and values.max() <= 3.0
    assert torch.equal(values, fill(torch.empty(1000, dtype=torch.float64)))
    assert stats.kstest(values.numpy(), stats.truncnorm(-1.0, 3.0).cdf).pvalue > 0.0001


def test_parameters_meta_and_inference_tensors():
    layer = torch.nn.Linear(30, 20)
    vt.trunc_normal_(layer.weight, std=0.02)
    assert layer.weight.is_leaf and layer.weight.grad_fn is None
    meta = torch.empty(3, 4, device="meta")
    assert vt.trunc_normal_(meta) is meta  # torch.nn.init leaves meta tensors as they are
    with torch.inference_mode():
        frozen = torch.empty(10)
        vt.trunc_normal_(frozen)
    with pytest.raises(ValueError, match="inference tensor"):
        vt.trunc_normal_(frozen)


def test_values_do_not_depend_on_the_transform_chunk(monkeypatch):
    """The inverse CDF runs chunk by chunk: a tensor spanning many chunks (and a last partial
    one) gets the values it gets in one chunk, on a mirrored window and a far tail."""
    import vscale.torch as module

    for window in [(0.5, 2.0, -1.0, 6.0), (0.0, 1.0, 8.0, 9.0), (0.0, 1.0, -45.0, -40.0)]:
        whole = _fill(window, "float32", seed=4, n=3 * 4096 + 5)
        monkeypatch.setattr(module, "_TRANSFORM_CHUNK", 4096)
        chunked = _fill(window, "float32", seed=4, n=3 * 4096 + 5)
        monkeypatch.undo()
        assert torch.equal(whole, chunked), window
