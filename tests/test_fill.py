"""In-place filling: ``VarianceScaling.fill_`` and ``vscale.init_`` on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vscale


def _zeros(backend, shape, dtype="float32"):
    kwargs = {} if backend.device is None else {"device": backend.device}
    return backend.module.zeros(shape, dtype=backend.native_dtype(dtype), **kwargs)


def _same_namespace_device_dtype(backend, result, original_dtype, original_device):
    assert type(result).__module__.split(".")[0] == backend.module.__name__.split(".")[0]
    assert result.dtype == original_dtype
    assert getattr(result, "device", None) == original_device


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fill_returns_the_same_array_with_seeded_values(backend, dtype):
    array = _zeros(backend, (40, 30), dtype)
    dtype_before, device_before = array.dtype, getattr(array, "device", None)
    result = vscale.HeUniform(seed=4).fill_(array)
    assert result is array
    _same_namespace_device_dtype(backend, result, dtype_before, device_before)
    expected = vscale.HeUniform(seed=4)((40, 30), dtype, xp=backend.module, device=backend.device)
    np.testing.assert_array_equal(backend.to_numpy(array), backend.to_numpy(expected))


def test_fill_uses_the_initializers_layout(backend):
    array = _zeros(backend, (256, 24))  # torch (out, in): fan_in = 24
    vscale.HeUniform(seed=0, layout="torch").fill_(array)
    values = backend.to_numpy(array)
    bound = math.sqrt(6.0 / 24)
    assert abs(values).max() <= bound
    # 6144 uniform draws on [-b, b]: P(max |w| < 0.99 b) = 0.99**6144 < 1e-26; with the
    # Keras layout the bound would be sqrt(6/256) = 0.31 of this.
    assert abs(values).max() > 0.99 * bound


def test_fill_writes_through_a_non_contiguous_view(backend):
    base = _zeros(backend, (16, 12))
    view = base[:, ::2]
    vscale.GlorotNormal(seed=1).fill_(view)
    values = backend.to_numpy(base)
    assert np.all(values[:, 1::2] == 0)
    assert np.all(values[:, ::2] != 0)  # a truncated normal in float32 is never exactly 0 here
    np.testing.assert_array_equal(values[:, ::2], backend.to_numpy(view))


def test_init_function_accepts_identifiers(backend):
    array = _zeros(backend, (10, 10))
    assert vscale.init_(array, "lecun_uniform") is array
    values = backend.to_numpy(array)
    assert np.all(values != 0) and abs(values).max() <= math.sqrt(3 / 10)


def test_fill_complex(backend):
    array = _zeros(backend, (50, 40), "complex64")
    vscale.VarianceScaling(2.0, "fan_in", "uniform", seed=0).fill_(array)
    assert array.dtype == backend.native_dtype("complex64")
    moduli = np.abs(backend.to_numpy(array, np.complex128))
    assert moduli.max() <= math.sqrt(2 * 2.0 / 50) * (1 + 1e-6)


def test_fill_rejects_non_float_dtypes_and_leaves_the_array(backend):
    integer = _zeros(backend, (3, 3), "int32")
    with pytest.raises(ValueError, match=r"Expected a floating point or complex type for argument `dtype`"):
        vscale.HeNormal().fill_(integer)
    assert np.all(backend.to_numpy(integer) == 0)


def test_read_only_numpy_array():
    array = np.zeros((4, 4), dtype=np.float32)
    array.flags.writeable = False
    with pytest.raises(ValueError, match=r"`array` is read-only"):
        vscale.HeNormal().fill_(array)
    assert np.all(array == 0)


def test_immutable_array_type():
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(TypeError, match=r"`array` of type .* is immutable"):
        vscale.init_(jnp.zeros((2, 2)), "he_normal")


def test_not_an_array():
    with pytest.raises(TypeError, match=r"Argument `array` must be an array.*type list"):
        vscale.HeNormal().fill_([[0.0, 0.0]])
    with pytest.raises(TypeError, match=r"`initializer`.*None"):
        vscale.init_(np.zeros(2), None)


def test_failure_leaves_the_array_untouched():
    array = np.zeros((2, 3), dtype=np.float16)
    # scale so large that float16 would overflow: refused before anything is written.
    with pytest.raises(ValueError, match=r"beyond the largest float16"):
        vscale.VarianceScaling(1e12, distribution="uniform").fill_(array)
    assert np.all(array == 0)


def test_torch_parameter_keeps_storage_and_records_no_history():
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(20, 30)
    weight = layer.weight
    pointer, version = weight.data_ptr(), weight._version
    assert vscale.HeNormal(seed=0, layout="torch").fill_(weight) is weight
    assert isinstance(weight, torch.nn.Parameter)
    assert weight.requires_grad and weight.is_leaf and weight.grad_fn is None
    assert weight.data_ptr() == pointer and weight._version > version
    layer(torch.ones(2, 20)).sum().backward()
    assert weight.grad is not None and weight.grad.shape == (30, 20)


def test_torch_fill_under_an_autograd_view():
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(8, 6))
    view = param[:, 1:]  # a non-leaf view that requires grad
    vscale.init_(view, vscale.GlorotUniform(seed=2))
    assert torch.all(param[:, 0] == 0) and torch.all(param[:, 1:] != 0)
    assert param.grad_fn is None
