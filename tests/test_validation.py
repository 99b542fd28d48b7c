"""Bad arguments raise ValueError/TypeError naming the argument and the value."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vscale


@pytest.mark.parametrize(
    ("scale", "error"),
    [(0, ValueError), (-1.0, ValueError), (math.nan, ValueError), (math.inf, ValueError),
     ("1.0", TypeError), (True, TypeError), (None, TypeError), (1j, TypeError)],
)  # fmt: skip
def test_bad_scale(scale, error):
    with pytest.raises(error, match=r"`scale`.*" + ("" if isinstance(scale, str) else "")):
        vscale.VarianceScaling(scale=scale)


@pytest.mark.parametrize("mode", ["fan", "", None, 3, "fanin"])
def test_bad_mode(mode):
    with pytest.raises(ValueError, match=r"`mode`.*" + repr(mode).replace("'", ".")):
        vscale.VarianceScaling(mode=mode)


@pytest.mark.parametrize("distribution", ["gaussian", "", None, "truncated", 1])
def test_bad_distribution(distribution):
    with pytest.raises(ValueError, match="`distribution`"):
        vscale.VarianceScaling(distribution=distribution)


@pytest.mark.parametrize(("seed", "error"), [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError)])
def test_bad_seed(seed, error):
    with pytest.raises(error, match="`seed`"):
        vscale.VarianceScaling(seed=seed)


def test_numpy_integer_seed_and_scale_are_accepted():
    init = vscale.VarianceScaling(scale=np.float32(2.0), seed=np.int64(3))
    assert init.get_config() == {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": 3}
    assert type(init.get_config()["seed"]) is int


@pytest.mark.parametrize(
    ("shape", "error"),
    [((-1, 3), ValueError), ((2.0, 3), TypeError), ("abc", TypeError), ((True, 2), TypeError),
     (None, TypeError), ((2, None), TypeError), (2.5, TypeError)],
)  # fmt: skip
def test_bad_shape(backend, shape, error):
    with pytest.raises(error, match="`shape`"):
        vscale.VarianceScaling()(shape, xp=backend.module, device=backend.device)


@pytest.mark.parametrize(
    ("dtype", "error"), [("int32", ValueError), ("bool", ValueError), ("float8", TypeError), ("banana", TypeError)]
)
def test_bad_dtype_names(backend, dtype, error):
    with pytest.raises(error, match="dtype"):
        vscale.VarianceScaling()((2, 2), dtype, xp=backend.module, device=backend.device)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_non_float_native_dtypes(backend, dtype):
    with pytest.raises(ValueError, match="Expected a floating point or complex type"):
        vscale.VarianceScaling()((2,), backend.native_dtype(dtype), xp=backend.module, device=backend.device)


def test_bad_device(backend):
    with pytest.raises(ValueError, match="`device`"):
        vscale.VarianceScaling()((2,), xp=backend.module, device="no-such-device:7")


def test_missing_accelerator_is_a_device_error(backend):
    if backend.framework == "torch" and not backend.module.cuda.is_available():
        with pytest.raises(ValueError, match="`device`.*no usable cuda device") as raised:
            vscale.VarianceScaling()((2,), xp=backend.module, device="cuda:0")
        assert "devices here: 0" not in str(raised.value)  # which read as if device 0 existed
    else:
        with pytest.raises(ValueError, match="`device`"):
            vscale.VarianceScaling()((2,), xp=backend.module, device="cuda:4096")


@pytest.mark.parametrize("xp", ["jaxx", "math", 3, object()])
def test_unknown_xp(xp):
    with pytest.raises((ValueError, TypeError), match="`xp`"):
        vscale.VarianceScaling()((2,), xp=xp)


def test_module_that_is_not_a_namespace():
    with pytest.raises(TypeError, match="`xp`"):
        vscale.VarianceScaling()((2,), xp=math)


def test_set_floatx_validates():
    with pytest.raises(ValueError, match="float16"):
        vscale.set_floatx("int32")
    assert vscale.floatx() == "float32"


def test_from_config_rejects_unknown_keys_and_non_dicts():
    with pytest.raises(TypeError):
        vscale.VarianceScaling.from_config({"scale": 1.0, "colour": "red"})
    with pytest.raises(TypeError, match="`config`"):
        vscale.VarianceScaling.from_config([("scale", 1.0)])


@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_overflowing_and_underflowing_parameters_are_refused(backend, distribution):
    init_call = {"xp": backend.module, "device": backend.device}
    huge = vscale.VarianceScaling(scale=1e80, distribution=distribution)
    with pytest.raises(ValueError, match="beyond the largest float32"):
        huge((1,), "float32", **init_call)
    tiny = vscale.VarianceScaling(scale=1e-80, distribution=distribution)
    with pytest.raises(ValueError, match="below the smallest normal float32"):
        tiny((1,), "float32", **init_call)
    if "float16" in backend.dtypes:
        with pytest.raises(ValueError, match="beyond the largest float16"):
            vscale.VarianceScaling(scale=1e10, distribution=distribution)((1,), "float16", **init_call)


def test_cupy_without_a_usable_gpu_is_a_device_error():
    """CuPy imports without a driver; asking it for values must fail cleanly, not crash."""
    cupy = pytest.importorskip("cupy")
    try:
        cupy.zeros(1)
    except Exception:
        pass
    else:
        pytest.skip("a GPU is usable here; the fixture's cupy cases cover this machine")
    with pytest.raises(ValueError, match="`device`.*no usable GPU"):
        vscale.VarianceScaling()((2,), xp="cupy")
