"""Hostile and odd arguments, driven by Hypothesis (issue 3, item 5).

Every argument of ``VarianceScaling(...)`` and of its call gets values of every kind: right
and wrong types, NaN/inf/huge/negative numbers, shapes as lists, tuples, NumPy integers,
0-d arrays, ``torch.Size``, shapes too large for memory.  The contract is written down here
independently of vscale's checks (``first_invalid``, ``valid_shape``): valid arguments must
succeed with exactly the right result (namespace, dtype, shape, finite values inside the
support), and invalid ones must raise ``ValueError``/``TypeError`` whose message names the
offending argument in backquotes.  Any other outcome fails the test.  Shapes that cannot fit the device are
refused before anything is allocated (the message says so, and no framework allocator
error such as NumPy's ``MemoryError`` or PyTorch's ``RuntimeError`` can appear).
"""

from __future__ import annotations

import fractions
import math
import numbers
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vscale
from tests._helpers import assert_array_like
from vscale.core.complex import complex_bound

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
ARGUMENTS = ("scale", "mode", "distribution", "seed", "shape", "dtype", "xp", "device", "config")

weird_objects = st.sampled_from(
    [None, object(), [], {}, (), "", b"bytes", 1j, math.nan, math.inf, -math.inf, True, False, print, np, Ellipsis,
     np.array([1, 2]), np.array(3.5), np.float64(2.0), fractions.Fraction(1, 3), 10**400, -(10**400)]
)  # fmt: skip


def assert_clear_error(error: BaseException) -> None:
    """A ValueError/TypeError whose message names one of the arguments in backquotes."""
    assert isinstance(error, (ValueError, TypeError)), f"{type(error).__name__}: {error}"
    named = re.findall(r"`(\w+)`", str(error))
    assert any(name in ARGUMENTS for name in named), f"no argument named in: {error}"


def assert_refused(call, argument: str) -> None:
    """``call()`` raises ValueError or TypeError whose message names ``argument`` (and no other
    exception type gets through)."""
    with pytest.raises((ValueError, TypeError)) as caught:
        call()
    assert f"`{argument}`" in str(caught.value), f"`{argument}` not named in: {caught.value}"


# The contract, written independently of vscale's checks: what must succeed.
def valid_scale(scale) -> bool:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        return False  # Decimal is not a numbers.Real; strings, None and objects are not numbers
    try:
        value = float(scale)
    except OverflowError:
        return False
    return math.isfinite(value) and value > 0


def valid_name(value, allowed) -> bool:
    return isinstance(value, str) and value.lower() in allowed


def valid_seed(seed) -> bool:
    return seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0)


def first_invalid(scale, mode, distribution, seed) -> str | None:
    """The argument a refusal must name (the constructor checks them in this order), or None."""
    checks = {
        "scale": valid_scale(scale),
        "mode": valid_name(mode, ("fan_in", "fan_out", "fan_avg")),
        "distribution": valid_name(distribution, ("truncated_normal", "untruncated_normal", "uniform", "normal")),
        "seed": valid_seed(seed),
    }
    return next((name for name, ok in checks.items() if not ok), None)


def construct(**kwargs):
    try:
        return vscale.VarianceScaling(**kwargs)
    except Exception as error:  # noqa: BLE001 - the point is to see every exception type
        assert_clear_error(error)
        return None


# --- constructor ---------------------------------------------------------------------------

numbers_of_every_kind = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.fractions(),
    st.decimals(allow_nan=True),
    st.floats(width=32).map(np.float32),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    weird_objects,
    st.text(max_size=5),
)
names = st.one_of(
    st.sampled_from(["fan_in", "FAN_OUT", "Fan_Avg", "truncated_normal", "Normal", "UNIFORM", "untruncated_normal"]),
    st.text(max_size=20),
    weird_objects,
)


@SETTINGS
@given(scale=numbers_of_every_kind, mode=names, distribution=names, seed=numbers_of_every_kind)
def test_constructor(scale, mode, distribution, seed):
    bad = first_invalid(scale, mode, distribution, seed)
    if bad is not None:
        assert_refused(lambda: vscale.VarianceScaling(scale, mode, distribution, seed), bad)
        return
    init = vscale.VarianceScaling(scale=scale, mode=mode, distribution=distribution, seed=seed)  # must succeed
    config = init.get_config()
    assert type(config["scale"]) is float and math.isfinite(config["scale"]) and config["scale"] > 0
    assert config["scale"] == float(scale)
    assert config["mode"] == mode.lower()
    assert config["distribution"] in ("truncated_normal", "untruncated_normal", "uniform")
    assert config["seed"] is None or (type(config["seed"]) is int and config["seed"] == seed >= 0)
    assert vscale.VarianceScaling.from_config(config).get_config() == config


# --- call: shapes ---------------------------------------------------------------------------

small_dims = st.integers(min_value=0, max_value=6)
dims_of_every_kind = st.one_of(
    small_dims,
    small_dims.map(np.int64),
    small_dims.map(np.uint8),
    small_dims.map(lambda d: np.array(d, dtype=np.int32)),  # a 0-d integer array
    st.integers(min_value=-(2**70), max_value=-1),
    # Huge: refused before allocation on any machine (2**40 values are TiBs; 2**31 would fit a
    # 140 GiB GPU, and parallel test workers would run it out of memory).
    st.integers(min_value=2**40, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    weird_objects,
)


def shapes(extra=st.nothing()):  # noqa: B008  (a strategy object, built once, never mutated)
    rank = st.integers(0, 5)
    plain = st.one_of(
        st.lists(small_dims, max_size=5),
        st.lists(small_dims, max_size=5).map(tuple),
        st.lists(small_dims, max_size=5).map(lambda d: np.array(d, dtype=np.int64)),
    )
    odd = st.lists(dims_of_every_kind, max_size=5).flatmap(lambda d: st.sampled_from([d, tuple(d)]))
    return st.one_of(
        plain,
        odd,
        small_dims,
        small_dims.map(np.int64),
        rank.map(lambda r: (1,) * (60 + r)),
        weird_objects,
        st.text(max_size=4),
        extra,
    )


def expected_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, np.ndarray) and shape.ndim == 0):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def valid_dim(dim) -> bool:
    """A dimension the contract accepts: a non-negative integer (Python, NumPy, 0-d integer
    array), not a bool, small enough to allocate (the strategies' large ones are 2**40+)."""
    if isinstance(dim, (bool, np.bool_)):
        return False
    if isinstance(dim, np.ndarray):
        if dim.ndim != 0 or dim.dtype.kind not in "iu":
            return False
        dim = int(dim)
    if not isinstance(dim, (int, np.integer)):
        return False
    return 0 <= int(dim) < 2**20


def valid_shape(shape) -> bool:
    if valid_dim(shape):
        return True
    if isinstance(shape, np.ndarray):
        return shape.ndim == 1 and shape.dtype.kind in "iu" and all(0 <= d < 2**20 for d in shape.tolist())
    if not isinstance(shape, (list, tuple)) and type(shape).__name__ != "Size":
        return False
    return len(shape) <= 64 and all(valid_dim(d) for d in shape)


def check_call(backend, init, shape, dtype):
    if not valid_shape(shape):
        assert_refused(lambda: init(shape, dtype, xp=backend.module, device=backend.device), "shape")
        return None
    result = init(shape, dtype, xp=backend.module, device=backend.device)  # must succeed
    dims = expected_shape(shape)
    name = dtype if isinstance(dtype, str) else None
    if name is not None:
        assert_array_like(result, backend, dims, name)
    values = backend.to_numpy(result)
    assert np.isfinite(values).all()
    if values.size:
        assert np.abs(values).max() <= init.parameters(dims).bound
    return result


@SETTINGS
@given(data=st.data())
def test_call_with_odd_shapes(backend, data):
    torch_sizes = st.nothing()
    if backend.framework == "torch":
        torch_sizes = st.lists(small_dims, max_size=4).map(backend.module.Size)
    shape = data.draw(shapes(torch_sizes), label="shape")
    init = vscale.VarianceScaling(seed=data.draw(st.integers(0, 2**64), label="seed"))
    check_call(backend, init, shape, "float32")


@SETTINGS
@given(data=st.data())
def test_call_with_odd_dtypes_devices_and_scales(backend, data):
    dtype = data.draw(
        st.one_of(
            st.sampled_from(
                ["float16", "bfloat16", "float32", "float64", "int32", "bool", "complex64", "float8", "F32"]
            ),
            st.sampled_from(backend.dtypes).map(backend.native_dtype),
            st.sampled_from([np.float32, np.dtype("float16"), np.int8, float, int, complex]),
            st.text(max_size=8),
            weird_objects,
        ),
        label="dtype",
    )
    device = data.draw(
        st.one_of(st.just(backend.device), st.just(None), st.text(max_size=8), weird_objects), label="device"
    )
    scale = data.draw(st.floats(min_value=1e-300, max_value=1e300), label="scale")
    distribution = data.draw(
        st.sampled_from(["truncated_normal", "untruncated_normal", "uniform"]), label="distribution"
    )
    init = vscale.VarianceScaling(scale, "fan_avg", distribution, seed=3)
    try:
        result = init((4, 5), dtype, xp=backend.module, device=device)
    except Exception as error:  # noqa: BLE001
        assert_clear_error(error)
        return
    assert tuple(result.shape) == (4, 5)
    params = init.parameters((4, 5))
    if "complex" in str(result.dtype):
        values = backend.to_numpy(result, np.complex128)
        # The modulus bound of the complex distributions (docs: family and layouts); the
        # parts are rounded separately, so the modulus may pass it by a part's rounding.
        bound = complex_bound(distribution, params.stddev) * (1 + 2.0**-20)
    else:
        values = backend.to_numpy(result)
        bound = params.bound
    assert np.isfinite(values).all()
    assert (values != 0).any()
    assert np.abs(values).max() <= bound


@SETTINGS
@given(xp=st.one_of(st.text(max_size=12), weird_objects, st.sampled_from(["numpy", "jax", "math", "os", "torch.nn"])))
def test_call_with_odd_namespaces(xp):
    try:
        vscale.VarianceScaling(seed=0)((2, 3), xp=xp)
    except Exception as error:  # noqa: BLE001
        assert_clear_error(error)


@pytest.mark.parametrize(
    "shape",
    [(2**20, 2**20, 1, 1), (2**40,), [2**31, 2**31], (2**62, 4), (2**64,), (10**30, 10**30), (1,) * 63 + (2**45,)],
)
def test_shapes_beyond_memory_are_refused_before_allocation(backend, shape):
    with pytest.raises(ValueError, match=r"`shape`.*nothing was allocated"):
        vscale.VarianceScaling(seed=0)(shape, "float32", xp=backend.module, device=backend.device)


def test_rank_above_64_is_refused(backend):
    with pytest.raises(ValueError, match=r"`shape` has 65 dimensions"):
        vscale.VarianceScaling(seed=0)((1,) * 65, xp=backend.module, device=backend.device)
    result = vscale.VarianceScaling(seed=0)((1,) * 64, xp=backend.module, device=backend.device)
    assert tuple(result.shape) == (1,) * 64


@SETTINGS
@given(
    device=st.one_of(
        st.text(max_size=8),
        weird_objects,
        st.integers(-3, 3),
        st.sampled_from(["cpu", "CPU", "cuda", "cuda:0", "cpu:0", "mps", "gpu"]),
    )
)
def test_call_with_odd_devices(backend, device):
    """With a valid dtype, so that every odd device reaches the adapter's device check."""
    try:
        result = vscale.VarianceScaling(seed=0)((3,), "float32", xp=backend.module, device=device)
    except Exception as error:  # noqa: BLE001
        assert_clear_error(error)
        return
    assert tuple(result.shape) == (3,)
    assert np.isfinite(backend.to_numpy(result)).all()
