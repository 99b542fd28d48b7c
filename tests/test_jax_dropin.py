"""``vscale.jax`` against ``jax.nn.initializers``: one import, the same keys, traceable.

What a key yields (docs/coming-from.md has the table): the uniform is JAX's bit for bit;
the normals are within 3 ulp of the exact inverse CDF of JAX's own uniforms (float32, against
SciPy), so they differ from JAX only by JAX's own error (XLA's ``erf_inv``) plus those 3 ulp;
against ``VarianceScaling(prng="threefry").sample(generator=key, xp="jax")`` the uniform
and complex values are identical, bfloat16 ones too at the shapes tested here (about one
normal value per million one bfloat16 ulp apart at 3 x 2**20 values: docs/coming-from.md),
and the float32/float64 normals within 2 ulp (XLA
compiles ``init`` as one computation and fuses multiply-adds; ``sample`` runs operation by
operation), float16 within one float16 ulp.  Eager, ``jax.jit`` and ``jax.vmap`` over keys
give the same bits.

The second half mirrors JAX's own initializer tests (jax-ml/jax, ``tests/nn_test.py``, class
``NNInitializersTest``: ``testInitializer`` and ``testInitializerProvider`` for the
variance-scaling records (the six presets and ``variance_scaling(1, "fan_geo_avg",
"normal")``, shapes of rank 2 to 4, JAX's floating and complex dtypes),
``testVarianceScalingMultiAxis``, ``testVarianceScalingBatchAxis`` and
``testVarianceScalingError``), written anew, pointed at ``vscale.jax``.

The suite runs with ``jax_enable_x64`` on (conftest); CI's ``JAX_ENABLE_X64=0 ... --backends
jax`` run collects this module too (it uses no ``backend`` fixture), so every test here runs
in both configurations; 64-bit dtypes skip without x64 and the truncation to 32 bits is tested
there instead.
"""

from __future__ import annotations

import inspect
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vscale
import vscale.jax as vj
from tests._helpers import jax_has_x64, require_x64

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

ROOT = Path(__file__).resolve().parents[1]
JAX = jax.nn.initializers
PRESETS = {
    "glorot_uniform": ("fan_avg", "uniform", 1.0),
    "glorot_normal": ("fan_avg", "truncated_normal", 1.0),
    "he_uniform": ("fan_in", "uniform", 2.0),
    "he_normal": ("fan_in", "truncated_normal", 2.0),
    "lecun_uniform": ("fan_in", "uniform", 1.0),
    "lecun_normal": ("fan_in", "truncated_normal", 1.0),
}
ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal"}
ALIASES |= {"kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}
#: JAX's distribution names and vscale's.
KINDS = {"truncated_normal": "truncated_normal", "normal": "untruncated_normal", "uniform": "uniform"}
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
KEYS = {"typed": jax.random.key, "raw": jax.random.PRNGKey}
#: (shape, in_axis, out_axis, batch_axis): dense, conv kernels, einsum kernels, batched.
LAYOUTS = [
    ((64, 32), -2, -1, ()),
    ((3, 3, 16, 32), -2, -1, ()),
    ((5, 7, 3), -2, -1, ()),
    ((16, 8, 4), 0, (1, 2), ()),
    ((2, 3, 4, 5), (0, 1), (-2, -1), ()),
    ((2, 3, 4, 5), 0, (2, 3), 1),
    ((6, 4, 10), 1, 2, (0,)),
    ((40, 30), 1, 0, ()),
]


def _dtype(name: str):
    if name in ("float64", "complex128"):
        require_x64(f"JAX's {name}")
    return getattr(jnp, name)


def _assert_jax_array(result, shape, dtype) -> None:
    """A JAX array of exactly ``shape`` and ``dtype`` (checked before any value)."""
    assert isinstance(result, jax.Array)
    assert result.dtype == jnp.dtype(dtype)
    assert tuple(result.shape) == tuple(shape)


def _host(result) -> np.ndarray:
    """A NumPy copy (bfloat16 and float16 widened exactly to float32)."""
    if result.dtype in (jnp.bfloat16, jnp.float16):
        result = result.astype(jnp.float32)
    return np.asarray(result)


def _same_bits(actual, desired) -> None:
    _assert_jax_array(actual, desired.shape, desired.dtype)
    np.testing.assert_array_equal(_host(actual), _host(desired))


def _ulps(actual, desired) -> np.ndarray:
    desired = np.asarray(desired)
    spacing = np.spacing(np.abs(desired)).astype(np.float64)
    return np.abs(np.asarray(actual, np.float64) - desired.astype(np.float64)) / spacing


def _factories(mode, distribution, scale, in_axis, out_axis, batch_axis):
    """The same initializer from vscale.jax and from JAX."""
    ours = vj.variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis)
    theirs = JAX.variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis)
    return ours, theirs


# --- the API: names, signatures, aliases -------------------------------------------------


@pytest.mark.parametrize("name", ["variance_scaling", *PRESETS, *ALIASES])
def test_the_factories_have_jaxs_signatures(name):
    ours, theirs = inspect.signature(getattr(vj, name)), inspect.signature(getattr(JAX, name))
    assert list(ours.parameters) == list(theirs.parameters)
    assert [p.default for p in ours.parameters.values()] == [p.default for p in theirs.parameters.values()]
    init = vj.he_normal() if name != "variance_scaling" else vj.variance_scaling(1.0, "fan_in", "uniform")
    call, jax_call = inspect.signature(init), inspect.signature(JAX.he_normal())
    assert list(call.parameters) == list(jax_call.parameters) == ["key", "shape", "dtype", "out_sharding"]
    assert isinstance(init, JAX.Initializer)


def test_aliases_are_the_same_objects_as_in_jax():
    for alias, name in ALIASES.items():
        assert getattr(vj, alias) is getattr(vj, name)
    assert sorted(vj.__all__) == sorted(["variance_scaling", *PRESETS, *ALIASES])


def test_jaxs_other_initializers_are_forwarded_and_unknown_names_refused():
    for name in vj.FORWARDED:
        assert getattr(vj, name) is getattr(JAX, name)
    with pytest.raises(AttributeError, match="no attribute 'he_normal_'"):
        vj.he_normal_  # noqa: B018


def test_importing_vscale_jax_imports_no_framework():
    code = "import sys, vscale.jax; print(sorted({'jax', 'torch', 'flax'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


# --- the values a key yields ------------------------------------------------------------


#: Every layout once, with the modes, key kinds and dtypes in turn (each case compiles twice,
#: about a second: the matrix of all of them would take minutes).
UNIFORM_CASES = [
    (layout, MODES[i % 4], list(KEYS)[i % 2], "float64" if i in (1, 6) else "float32")
    for i, layout in enumerate(LAYOUTS)
]


@pytest.mark.parametrize(("layout", "mode", "key_kind", "dtype"), UNIFORM_CASES, ids=str)
def test_uniform_is_jaxs_bit_for_bit(layout, mode, key_kind, dtype):
    shape, *axes = layout
    ours, theirs = _factories(mode, "uniform", 1.7, *axes)
    key = KEYS[key_kind](11)
    _same_bits(ours(key, shape, _dtype(dtype)), theirs(key, shape, _dtype(dtype)))


@pytest.mark.parametrize(
    ("name", "key_kind", "dtype", "shape"),
    [("glorot_uniform", "typed", "float32", (30, 20)), ("he_uniform", "raw", "float64", (3, 3, 8, 16))]
    + [("lecun_uniform", "typed", "float32", (7, 1))],
)
def test_uniform_presets_are_jaxs_bit_for_bit(name, key_kind, dtype, shape):
    key = KEYS[key_kind](5)
    _same_bits(getattr(vj, name)()(key, shape, _dtype(dtype)), getattr(JAX, name)()(key, shape, _dtype(dtype)))


@pytest.mark.parametrize("distribution", ["truncated_normal", "normal"])
@pytest.mark.parametrize("mode", MODES)
def test_normals_are_jaxs_up_to_the_inverse_error_function(distribution, mode):
    """float32: within 3 ulp of the exact inverse CDF of JAX's own uniforms (SciPy's float64
    erfinv is exact at float32's resolution), so the distance to JAX is at most JAX's own
    error plus 3 ulp; the truncated normal within 4 ulp of JAX for 99.9% of values, 8 at most
    (measured: 6)."""
    key_kind = "typed" if mode in ("fan_in", "fan_avg") else "raw"
    special = pytest.importorskip("scipy.special")
    import array_api_compat.numpy as anp

    from vscale.core.portable import fused_multiply_add, portable_transform

    shape, key = (3, 3, 96, 64), KEYS[key_kind](3)
    ours_init, theirs_init = _factories(mode, distribution, 2.0, -2, -1, ())
    ours = ours_init(key, shape, jnp.float32)
    _assert_jax_array(ours, shape, jnp.float32)
    ours = np.asarray(ours).ravel()
    theirs = np.asarray(theirs_init(key, shape, jnp.float32)).ravel()
    fan_in, fan_out = 9 * 96, 9 * 64
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}.get(mode, (fan_in * fan_out) ** 0.5)
    transform = portable_transform(KINDS[distribution], 2.0, n, "float32", "float32")
    f = np.asarray(jax.random.uniform(key, (ours.size,), jnp.float32))
    if distribution == "normal":
        u = f.astype(np.float64) * 2 + transform.low
    else:
        u = np.maximum(fused_multiply_add(f.copy(), transform, xp=anp), np.float32(transform.low)).astype(np.float64)
    exact = (special.erfinv(u) * transform.factor).astype(np.float32)
    assert _ulps(ours, exact).max() <= 3
    distance = _ulps(ours, theirs)
    assert np.all(distance <= _ulps(theirs, exact) + 3)
    if distribution == "truncated_normal":
        assert np.quantile(distance, 0.999) <= 4 and distance.max() <= 8


@pytest.mark.parametrize(("distribution", "key_kind"), [("truncated_normal", "typed"), ("normal", "raw")])
def test_float64_normals_are_jaxs_up_to_jaxs_own_error(distribution, key_kind):
    """float64: XLA's float64 erf_inv is off by hundreds to thousands of ulp in the tails;
    the truncated normal's and the central values are within 32 ulp of JAX's (measured)."""
    require_x64("JAX's float64 normals")
    key = KEYS[key_kind](8)
    ours_init, theirs_init = _factories("fan_avg", distribution, 1.0, -2, -1, ())
    ours = np.asarray(ours_init(key, (256, 128), jnp.float64)).ravel()
    theirs = np.asarray(theirs_init(key, (256, 128), jnp.float64)).ravel()
    distance = _ulps(ours, theirs)
    central = np.abs(theirs) < np.std(theirs)
    assert distance[central].max() <= 32
    if distribution == "truncated_normal":
        assert distance.max() <= 64


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "complex64", "complex128"])
@pytest.mark.parametrize("distribution", KINDS)
def test_same_key_as_variance_scaling_threefry_sample(dtype, distribution):
    """``VarianceScaling(prng="threefry").sample(generator=key, xp="jax")`` runs operation by
    operation; ``init`` is one XLA computation, where multiply-adds are fused: the uniform,
    complex and (at this shape) bfloat16 values are identical, the float32/float64 normals within 2 ulp and
    float16 within one float16 ulp (a float32 value that moved across a rounding boundary)."""
    key, shape = KEYS["raw" if dtype.startswith("complex") else "typed"](21), (3, 3, 64, 48)
    ours = vj.variance_scaling(2.0, "fan_avg", distribution)(key, shape, _dtype(dtype))
    init = vscale.VarianceScaling(2.0, "fan_avg", KINDS[distribution], prng="threefry")
    reference = init.sample(shape, dtype, xp="jax", generator=key)
    _assert_jax_array(ours, shape, _dtype(dtype))
    if distribution == "uniform" or dtype in ("bfloat16", "complex64", "complex128"):
        _same_bits(ours, reference)
    elif dtype == "float16":
        assert _ulps(_host(ours), _host(reference).astype(np.float16)).max() <= 1
    else:
        assert _ulps(_host(ours), _host(reference)).max() <= 2


def test_fans_are_jaxs():
    compute_fans = pytest.importorskip("jax._src.nn.initializers")._compute_fans  # JAX's private rule
    from vscale.core.fans import receptive_fans

    for shape, *axes in [*LAYOUTS, ((5,), 0, 0, ()), ((4, 6), (0, 0), 1, ()), ((3, 5, 7), -1, 0, -2)]:
        assert receptive_fans(shape, *axes) == compute_fans(shape, *axes), (shape, axes)


@pytest.mark.parametrize("scale", [2, 2.0, np.float32(0.3), np.array(0.3), "jnp32", "jnp64"], ids=repr)
def test_scale_as_a_number_or_a_0d_array(scale):
    if isinstance(scale, str):
        if scale == "jnp64":
            require_x64("a float64 scale")
        scale = jnp.array(0.3, jnp.float32 if scale == "jnp32" else jnp.float64)
    key = jax.random.key(2)
    for distribution in KINDS:
        ours, theirs = _factories("fan_avg", distribution, scale, -2, -1, ())
        values, expected = ours(key, (50, 40), jnp.float32), theirs(key, (50, 40), jnp.float32)
        if distribution == "uniform":
            _same_bits(values, expected)
        else:
            assert _ulps(_host(values), _host(expected)).max() <= 100  # JAX's own erf_inv error, at most


def test_a_traced_scale_is_refused_by_name_where_jax_accepts_it():
    key = jax.random.key(0)
    jax.jit(lambda s: JAX.variance_scaling(s, "fan_in", "uniform")(key, (3, 3)))(2.0)  # JAX: fine
    with pytest.raises(TypeError, match="Argument `scale` must be concrete"):
        jax.jit(lambda s: vj.variance_scaling(s, "fan_in", "uniform")(key, (3, 3)))(2.0)


def test_the_default_dtype_is_jaxs_and_the_call_overrides_the_factory():
    """Every dtype at the factory and at the call: the upstream tests below."""
    key = jax.random.key(4)
    default = jnp.float64 if jax_has_x64() else jnp.float32  # JAX's default float
    _assert_jax_array(vj.lecun_normal()(key, (5, 6)), (5, 6), default)
    _assert_jax_array(vj.glorot_uniform(dtype=jnp.float32)(key, (5, 6), "bfloat16"), (5, 6), jnp.bfloat16)
    _assert_jax_array(vj.glorot_uniform(dtype="float16")(key, (5, 6)), (5, 6), jnp.float16)


def test_64_bit_dtypes_without_x64_become_32_bit_with_a_warning_as_in_jax():
    if jax_has_x64():
        pytest.skip("JAX's default configuration only (CI runs this module with JAX_ENABLE_X64=0 too)")
    key = jax.random.key(4)
    for requested, actual in ((jnp.float64, jnp.float32), ("complex128", jnp.complex64)):
        with pytest.warns(UserWarning, match="needs jax_enable_x64"):
            ours = vj.he_normal()(key, (5, 6), requested)
        with pytest.warns(UserWarning):
            theirs = JAX.he_normal()(key, (5, 6), requested)
        _assert_jax_array(ours, (5, 6), actual)
        assert theirs.dtype == ours.dtype


def test_shapes_with_a_zero_give_empty_arrays_where_jax_divides_by_zero():
    key = jax.random.key(0)
    for shape in [(0, 5), (5, 0), (0, 3, 4), (3, 3, 0, 8)]:
        _assert_jax_array(vj.he_normal()(key, shape, jnp.float32), shape, jnp.float32)
        with pytest.raises(ZeroDivisionError):
            JAX.he_normal()(key, shape, jnp.float32)


def test_other_key_implementations_give_jaxs_uniform():
    key = jax.random.key(3, impl="rbg")
    _same_bits(vj.he_uniform()(key, (20, 10), jnp.float32), JAX.he_uniform()(key, (20, 10), jnp.float32))


# --- errors -------------------------------------------------------------------------------


def test_a_1d_shape_with_the_default_in_axis_raises_jaxs_error():
    key = jax.random.key(0)
    for shape in [(5,), ()]:
        with pytest.raises(ValueError) as theirs:
            JAX.glorot_normal()(key, shape)
        with pytest.raises(ValueError, match=re.escape(str(theirs.value))):
            vj.glorot_normal()(key, shape)
    # With explicit axes a 1-D (or 0-d) weight is JAX's too.
    for shape, axes in [((5,), (0, 0)), ((), ((), ()))]:
        _same_bits(vj.he_uniform(*axes)(key, shape, jnp.float32), JAX.he_uniform(*axes)(key, shape, jnp.float32))


def test_axes_outside_the_shape_raise_an_error_naming_the_argument():
    key = jax.random.key(0)
    for kwargs, name in [
        ({"in_axis": 2}, "in_axis"),
        ({"out_axis": (0, -3)}, "out_axis"),
        ({"batch_axis": 5}, "batch_axis"),
    ]:
        with pytest.raises(IndexError):
            JAX.he_normal(**kwargs)(key, (3, 4))
        with pytest.raises(ValueError, match=f"Argument `{name}`=.* out of range for a weight of shape=\\(3, 4\\)"):
            vj.he_normal(**kwargs)(key, (3, 4))
        with pytest.raises(IndexError):  # NumPy's AxisError is both, as JAX's callers may catch either
            vj.he_normal(**kwargs)(key, (3, 4))


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ((1.0, "fan_median", "uniform"), ValueError, "invalid mode for variance scaling initializer: fan_median"),
        ((1.0, None, "uniform"), ValueError, "argument `mode`"),
        ((1.0, "fan_in", "gaussian"), ValueError, "invalid distribution for variance scaling initializer: gaussian"),
        (
            (0.0, "fan_in", "uniform"),
            ValueError,
            "Argument `scale` must be a positive finite float; received scale=0.0",
        ),
        ((-2, "fan_in", "uniform"), ValueError, "received scale=-2"),
        ((math.nan, "fan_in", "uniform"), ValueError, "positive finite"),
        ((math.inf, "fan_in", "uniform"), ValueError, "positive finite"),
        ((np.array(-1.0), "fan_in", "uniform"), ValueError, "received scale=-1.0"),
        ((True, "fan_in", "uniform"), TypeError, "Argument `scale`"),
        (("2", "fan_in", "uniform"), TypeError, "Argument `scale`"),
        ((np.ones(2), "fan_in", "uniform"), TypeError, "0-d real array; received .* of shape \\(2,\\)"),
        ((np.array(1 + 1j), "fan_in", "uniform"), TypeError, "0-d real array"),
        ((1.0, "fan_in", "uniform", 1.5), TypeError, "Argument `in_axis` must be an integer or a sequence"),
        ((1.0, "fan_in", "uniform", -2, ("a",)), TypeError, "Argument `out_axis`"),
        ((1.0, "fan_in", "uniform", -2, -1, True), TypeError, "Argument `batch_axis`"),
    ],
)
def test_bad_factory_arguments_are_refused_by_name(arguments, error, match):
    with pytest.raises(error, match=match):
        vj.variance_scaling(*arguments)


@pytest.mark.parametrize(
    ("dtype", "shape", "error", "match"),
    [
        (jnp.int32, (3, 4), ValueError, "Expected a floating point or complex type for argument `dtype`"),
        ("bool", (3, 4), ValueError, "argument `dtype`"),
        ("not-a-dtype", (3, 4), TypeError, "Argument `dtype` is not a known dtype"),
        (jnp.float32, (3, -4), ValueError, "Argument `shape` must contain only non-negative integers"),
        (jnp.float32, (3, 4.0), TypeError, "Argument `shape`"),
    ],
)
def test_bad_call_arguments_are_refused_by_name(dtype, shape, error, match):
    with pytest.raises(error, match=match):
        vj.he_normal()(jax.random.key(0), shape, dtype)


def test_values_the_dtype_cannot_hold_are_refused():
    with pytest.raises(ValueError, match="beyond the largest float16"):
        vj.variance_scaling(1e12, "fan_in", "uniform")(jax.random.key(0), (4, 4), jnp.float16)


# --- traceability -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "distribution"),
    [("float32", "truncated_normal"), ("float32", "normal"), ("float64", "normal"), ("bfloat16", "uniform")]
    + [("complex64", "truncated_normal")],
)
def test_jit_gives_the_eager_values(dtype, distribution):
    init, key, shape = vj.variance_scaling(2.0, "fan_avg", distribution), jax.random.key(6), (3, 3, 32, 16)
    eager = init(key, shape, _dtype(dtype))
    _same_bits(jax.jit(lambda k: init(k, shape, _dtype(dtype)))(key), eager)


def test_the_initializer_jitted_with_a_static_shape():
    """``jax.jit(init, static_argnums=(1, 2))``, as JAX users write it."""
    init, key = vj.he_normal(), jax.random.PRNGKey(6)
    _same_bits(jax.jit(init, static_argnums=(1, 2))(key, (20, 30), jnp.float32), init(key, (20, 30), jnp.float32))


@pytest.mark.parametrize(
    ("key_kind", "distribution"), [("typed", "truncated_normal"), ("raw", "normal"), ("typed", "uniform")]
)
def test_vmap_over_keys_is_the_loop_over_keys(key_kind, distribution):
    keys = jax.random.split(KEYS[key_kind](9), 6)
    init = vj.variance_scaling(1.0, "fan_geo_avg", distribution)
    loop = jnp.stack([init(k, (24, 16), jnp.float32) for k in keys])
    _same_bits(jax.vmap(lambda k: init(k, (24, 16), jnp.float32))(keys), loop)
    _same_bits(jax.jit(jax.vmap(lambda k: init(k, (24, 16), jnp.float32)))(keys), loop)


def test_out_sharding_on_four_devices():
    """``out_sharding`` places the values as JAX's does (a child with four host CPU devices,
    since JAX fixes its device count when it starts); the values are the unsharded ones.
    JAX ignores ``out_sharding`` for complex dtypes; vscale.jax honours it."""
    script = r"""
import numpy as np, jax, jax.numpy as jnp, vscale.jax as vj
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
mesh = jax.make_mesh((2, 2), ("x", "y"), axis_types=(AxisType.Explicit,) * 2)
key = jax.random.key(7)
with jax.set_mesh(mesh):
    for spec in (P("x", "y"), P(None, "x"), P()):
        for dtype in ("float32", "complex64"):
            # JAX's placement of a float32 weight (JAX ignores out_sharding for complex ones).
            where = jax.nn.initializers.he_uniform()(key, (8, 6), jnp.float32, out_sharding=spec).sharding
            assert len(where.device_set) == 4
            for name in ("he_uniform", "glorot_normal"):
                ours = getattr(vj, name)()(key, (8, 6), dtype, out_sharding=spec)
                plain = getattr(vj, name)()(key, (8, 6), dtype)
                assert ours.sharding == where, (ours.sharding, where)
                assert np.array_equal(np.asarray(ours), np.asarray(plain)), (spec, dtype, name)
    named = NamedSharding(mesh, P("x", None))
    assert vj.lecun_normal()(key, (8, 6), jnp.float32, out_sharding=named).sharding == named
print("ok")
"""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


# --- statistics -----------------------------------------------------------------------------


@pytest.mark.parametrize("distribution", KINDS)
@pytest.mark.parametrize("mode", ["fan_in", "fan_geo_avg"])
def test_distribution_against_scipy(distribution, mode):
    """KS against the exact distribution (p > 1e-4) and the variance scale / n within 1%."""
    stats = pytest.importorskip("scipy.stats")
    shape = (4, 4, 60, 40)
    values = np.asarray(vj.variance_scaling(1.5, mode, distribution)(jax.random.key(13), shape, jnp.float32))
    fan_in, fan_out = 16 * 60, 16 * 40
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}.get(mode, math.sqrt(fan_in * fan_out))
    stddev = math.sqrt(1.5 / n)
    sample = values.ravel().astype(np.float64)
    if distribution == "truncated_normal":
        sigma = stddev / 0.87962566103423978
        exact = stats.truncnorm(-2, 2, scale=sigma)
        assert np.abs(sample).max() <= 2 * sigma
    elif distribution == "normal":
        exact = stats.norm(scale=stddev)
    else:
        limit = math.sqrt(3 * 1.5 / n)
        exact = stats.uniform(-limit, 2 * limit)
        assert np.abs(sample).max() <= limit
    assert stats.kstest(sample, exact.cdf).pvalue > 1e-4
    assert abs(sample.mean()) < 5 * stddev / math.sqrt(sample.size)
    assert abs(sample.var() / stddev**2 - 1) < 0.01


@pytest.mark.parametrize("distribution", KINDS)
def test_complex_values_are_rotation_invariant_with_the_requested_variance(distribution):
    """vscale's complex definition (core/complex.py): E|w|^2 = scale / n exactly, including
    the truncated normal (JAX's constant makes its variance 1.9 % too large)."""
    stats = pytest.importorskip("scipy.stats")
    values = np.asarray(vj.variance_scaling(2.0, "fan_in", distribution)(jax.random.key(1), (500, 800), jnp.complex64))
    sample = values.ravel().astype(np.complex128)
    variance = 2.0 / 500
    assert abs(np.mean(np.abs(sample) ** 2) / variance - 1) < 0.01
    assert abs(np.mean(sample**2)) < 0.01 * variance  # E[w^2] = 0: rotation invariance
    angle = np.angle(sample)
    assert stats.kstest(angle, stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue > 1e-4


# --- Flax ---------------------------------------------------------------------------------


def test_flax_nnx_linear_and_conv_take_vscale_kernel_inits():
    nnx = pytest.importorskip("flax.nnx")
    linear = nnx.Linear(64, 32, kernel_init=vj.he_uniform(), rngs=nnx.Rngs(0))
    reference = nnx.Linear(64, 32, kernel_init=JAX.he_uniform(), rngs=nnx.Rngs(0))
    _same_bits(linear.kernel[...], reference.kernel[...])  # the uniform is JAX's, so Flax's weights too
    normal = nnx.Linear(64, 32, kernel_init=vj.he_normal(), rngs=nnx.Rngs(0))
    y = normal(jnp.ones((5, 64), jnp.float32))
    _assert_jax_array(y, (5, 32), jnp.float32)
    conv = nnx.Conv(8, 16, kernel_size=(3, 3), kernel_init=vj.glorot_normal(), rngs=nnx.Rngs(1))
    kernel = np.asarray(conv.kernel[...])
    assert kernel.shape == (3, 3, 8, 16)
    sigma = math.sqrt(2 / (9 * 8 + 9 * 16)) / 0.87962566103423978
    assert np.abs(kernel).max() <= 2 * sigma
    _assert_jax_array(conv(jnp.ones((2, 10, 10, 8), jnp.float32)), (2, 10, 10, 16), jnp.float32)


def test_flax_nnx_kernel_is_the_initializer_of_the_key_flax_draws():
    nnx = pytest.importorskip("flax.nnx")
    for init in (vj.he_normal(), vj.variance_scaling(1.0, "fan_geo_avg", "normal")):
        layer = nnx.Linear(48, 24, kernel_init=init, use_bias=False, rngs=nnx.Rngs(params=3))
        key = nnx.Rngs(params=3).params()  # the first key Flax draws for a parameter
        _same_bits(layer.kernel[...], init(key, (48, 24), jnp.float32))


def test_flax_linen_dense_init_and_apply_eager_and_jitted():
    nn = pytest.importorskip("flax.linen")
    x = jnp.ones((4, 20), jnp.float32)
    model = nn.Dense(12, kernel_init=vj.lecun_normal())
    params = model.init(jax.random.key(0), x)
    jitted = jax.jit(model.init)(jax.random.key(0), x)
    _same_bits(jitted["params"]["kernel"], params["params"]["kernel"])
    kernel = params["params"]["kernel"]
    _assert_jax_array(kernel, (20, 12), jnp.float32)
    assert np.abs(np.asarray(kernel)).max() <= 2 * math.sqrt(1 / 20) / 0.87962566103423978
    _assert_jax_array(model.apply(params, x), (4, 12), jnp.float32)
    uniform = nn.Dense(12, kernel_init=vj.glorot_uniform()).init(jax.random.key(0), x)
    theirs = nn.Dense(12, kernel_init=JAX.glorot_uniform()).init(jax.random.key(0), x)
    _same_bits(uniform["params"]["kernel"], theirs["params"]["kernel"])


# --- JAX's own initializer tests (tests/nn_test.py, NNInitializersTest), pointed at vscale.jax ---

UPSTREAM_SHAPES = [(2, 2), (2, 3), (3, 2), (2, 3, 4), (4, 3, 2), (2, 3, 4, 5)]  # ranks 2 to 4
UPSTREAM_RECORDS = {
    **{name: getattr(vj, name) for name in PRESETS},
    "variance_scaling_fan_geo_avg": lambda **kwargs: vj.variance_scaling(1, "fan_geo_avg", "normal", **kwargs),
}
UPSTREAM_DTYPES = {name: ["float32", "float64", "complex64", "complex128"] for name in PRESETS}
UPSTREAM_DTYPES["variance_scaling_fan_geo_avg"] = ["float32", "float64"]  # JAX's record: floating only
#: Each case compiles once (about half a second): the default run takes every record and
#: dtype with the shapes in turn; ``-m slow`` runs JAX's whole matrix.
UPSTREAM_CASES = [
    pytest.param(name, shape, dtype, marks=[] if (i + j) % len(UPSTREAM_SHAPES) == k else [pytest.mark.slow])
    for i, name in enumerate(UPSTREAM_RECORDS)
    for j, dtype in enumerate(UPSTREAM_DTYPES[name])
    for k, shape in enumerate(UPSTREAM_SHAPES)
]


@pytest.mark.parametrize(("name", "shape", "dtype"), UPSTREAM_CASES)
def test_upstream_initializer(name, shape, dtype):
    """testInitializer: the dtype at the call; shape and canonical dtype."""
    value = UPSTREAM_RECORDS[name]()(jax.random.PRNGKey(0), shape, _dtype(dtype))
    assert jnp.shape(value) == shape
    assert value.dtype == jax.dtypes.canonicalize_dtype(_dtype(dtype))


@pytest.mark.parametrize(("name", "shape", "dtype"), UPSTREAM_CASES)
def test_upstream_initializer_provider(name, shape, dtype):
    """testInitializerProvider: the dtype at the factory."""
    value = UPSTREAM_RECORDS[name](dtype=_dtype(dtype))(jax.random.PRNGKey(0), shape)
    assert jnp.shape(value) == shape
    assert value.dtype == jax.dtypes.canonicalize_dtype(_dtype(dtype))


def test_upstream_variance_scaling_multi_axis():
    init = vj.variance_scaling(
        scale=1.0, mode="fan_avg", distribution="truncated_normal", in_axis=(0, 1), out_axis=(-2, -1)
    )
    assert jnp.shape(init(jax.random.PRNGKey(0), (2, 3, 4, 5))) == (2, 3, 4, 5)


def test_upstream_variance_scaling_batch_axis():
    init = vj.variance_scaling(
        scale=1.0, mode="fan_avg", distribution="truncated_normal", in_axis=0, out_axis=(2, 3), batch_axis=1
    )
    assert jnp.shape(init(jax.random.PRNGKey(0), (2, 3, 4, 5))) == (2, 3, 4, 5)


def test_upstream_variance_scaling_error():
    """testVarianceScalingError, with the message as the installed JAX words it."""
    init = vj.variance_scaling(scale=1.0, mode="fan_avg", distribution="truncated_normal")
    with pytest.raises(ValueError, match="Can't compute input and output sizes of a 1-dimensional weights tensor"):
        init(jax.random.PRNGKey(0), (5,))
