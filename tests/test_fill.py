"""In-place filling: ``VarianceScaling.fill_`` and ``vscale.init_`` on every backend."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import vscale
from tests._helpers import assert_same_values


@pytest.fixture
def fillable(backend):
    """A backend whose arrays can be filled in place (conftest does not generate JAX's)."""
    assert backend.mutable
    return backend


@pytest.mark.backends("jax")
def test_immutable_arrays_are_refused_cleanly(backend):
    array = backend.module.zeros((3, 2))
    with pytest.raises(TypeError, match=r"`array` of type .* is immutable"):
        vscale.HeNormal(seed=0).fill_(array)
    assert np.all(backend.to_numpy(array) == 0)


def _zeros(backend, shape, dtype="float32"):
    kwargs = {} if backend.device is None else {"device": backend.device}
    return backend.module.zeros(shape, dtype=backend.native_dtype(dtype), **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fill_returns_the_same_array_with_seeded_values(fillable, dtype):
    backend = fillable
    array = _zeros(backend, (40, 30), dtype)
    # An explicit layout: a call with a shape and fill_ then read the fans alike everywhere.
    result = vscale.HeUniform(seed=4, layout="keras").fill_(array)
    assert result is array
    # Against the fixture's own description of the backend, not the array's attributes.
    assert type(result).__module__.split(".")[0] == backend.module.__name__.split(".")[0]
    assert result.dtype == backend.native_dtype(dtype)
    if backend.framework == "torch":
        assert result.device.type == backend.device.split(":")[0]
    expected = vscale.HeUniform(seed=4, layout="keras")((40, 30), dtype, xp=backend.module, device=backend.device)
    assert_same_values(array, expected, backend, dtype)


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "complex64"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_fill_of_a_view_equals_a_call(fillable, dtype, distribution):
    """Non-contiguous targets (a transposed, strided view) get exactly a call's values."""
    backend = fillable
    base = _zeros(backend, (37, 2 * 29), dtype)
    view = base[:, ::2]
    vscale.VarianceScaling(1.0, "fan_avg", distribution, seed=3).fill_(view)
    expected = vscale.VarianceScaling(1.0, "fan_avg", distribution, seed=3)(
        (37, 29), dtype, xp=backend.module, device=backend.device
    )
    kind = np.complex128 if dtype.startswith("complex") else np.float64
    np.testing.assert_array_equal(backend.to_numpy(base, kind)[:, ::2], backend.to_numpy(expected, kind))
    assert np.all(backend.to_numpy(base, kind)[:, 1::2] == 0)


def test_fill_uses_the_initializers_layout(fillable):
    backend = fillable
    array = _zeros(backend, (256, 24))  # torch (out, in): fan_in = 24
    vscale.HeUniform(seed=0, layout="torch").fill_(array)
    values = backend.to_numpy(array)
    bound = math.sqrt(6.0 / 24)
    assert abs(values).max() <= bound
    # 6144 uniform draws on [-b, b]: P(max |w| < 0.99 b) = 0.99**6144 < 1e-26; with the
    # Keras layout the bound would be sqrt(6/256) = 0.31 of this.
    assert abs(values).max() > 0.99 * bound


def test_fill_writes_through_a_non_contiguous_view(fillable):
    backend = fillable
    base = _zeros(backend, (16, 12))
    view = base[:, ::2]
    vscale.GlorotNormal(seed=1).fill_(view)
    values = backend.to_numpy(base)
    assert np.all(values[:, 1::2] == 0)
    assert np.all(values[:, ::2] != 0)  # a truncated normal in float32 is never exactly 0 here
    np.testing.assert_array_equal(values[:, ::2], backend.to_numpy(view))


def test_init_function_accepts_identifiers(fillable):
    backend = fillable
    array = _zeros(backend, (10, 10))
    assert vscale.init_(array, "lecun_uniform") is array
    values = backend.to_numpy(array)
    assert np.all(values != 0) and abs(values).max() <= math.sqrt(3 / 10)


def test_fill_complex(fillable):
    backend = fillable
    array = _zeros(backend, (50, 40), "complex64")
    vscale.VarianceScaling(2.0, "fan_in", "uniform", seed=0, layout="keras").fill_(array)
    assert array.dtype == backend.native_dtype("complex64")
    moduli = np.abs(backend.to_numpy(array, np.complex128))
    assert moduli.max() <= math.sqrt(2 * 2.0 / 50) * (1 + 1e-6)


def test_fill_rejects_non_float_dtypes_and_leaves_the_array(fillable):
    backend = fillable
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


def test_torch_refuses_before_writing():
    """Expanded (overlapping), sparse, nested, meta and inference tensors: a clear error, no write."""
    torch = pytest.importorskip("torch")
    init = vscale.HeNormal(seed=0)
    expanded = torch.zeros(1, 4).expand(3, 4)
    with pytest.raises(ValueError, match=r"`array` has elements that share memory"):
        init.fill_(expanded)
    assert torch.all(expanded == 0)
    with pytest.raises(TypeError, match=r"`array` is a torch.sparse_coo tensor"):
        init.fill_(torch.zeros(3, 3).to_sparse())
    with warnings.catch_warnings():  # torch's "nested tensors are in prototype stage", not ours
        warnings.filterwarnings("ignore", "The PyTorch API of nested tensors", UserWarning)
        nested = torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)])
    with pytest.raises(TypeError, match=r"`array` is a nested tensor"):
        init.fill_(nested)
    with pytest.raises(ValueError, match=r"'meta' device"):
        init.fill_(torch.empty(3, 3, device="meta"))
    with torch.inference_mode():
        frozen = torch.zeros(3, 3)
    with pytest.raises(ValueError, match=r"inference tensor"):
        init.fill_(frozen)
    assert torch.all(frozen == 0)
    with torch.inference_mode():
        init.fill_(frozen)  # allowed where torch allows writing it
    assert torch.all(frozen != 0)


def test_numpy_refuses_overlapping_memory():
    base = np.zeros(8, dtype=np.float32)
    overlapping = np.lib.stride_tricks.as_strided(base, shape=(4, 4), strides=(4, 4))
    with pytest.raises(ValueError, match=r"share memory"):
        vscale.HeNormal(seed=0).fill_(overlapping)
    assert np.all(base == 0)


def test_fill_generator_gives_the_key():
    """fill_(generator=) as torch.nn.init: same generator state, same values; the initializer's
    own sequence does not advance."""
    init = vscale.HeNormal(seed=5)
    a, b = np.zeros((6, 7), np.float32), np.zeros((6, 7), np.float32)
    init.fill_(a, generator=np.random.default_rng(1))
    init.fill_(b, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(init((6, 7)), vscale.HeNormal(seed=5)((6, 7)))


@pytest.mark.parametrize("shape", [(), (0, 7), (7, 0), (1,), (3, 1, 1)])
def test_fill_of_scalar_and_empty_arrays_equals_a_call(fillable, shape):
    """Rank 0 (one value), zero-size arrays (no work, no error) and unit dimensions."""
    backend = fillable
    array = _zeros(backend, shape)
    assert vscale.HeNormal(seed=2, layout="keras").fill_(array) is array
    expected = vscale.HeNormal(seed=2, layout="keras")(shape, "float32", xp=backend.module, device=backend.device)
    assert_same_values(array, expected, backend, "float32")
