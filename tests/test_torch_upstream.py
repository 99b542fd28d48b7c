"""PyTorch's own ``TestNNInit`` checks, pointed at ``vscale.torch``, with upstream's thresholds.

These mirror the tests of ``test/nn/test_init.py`` in pytorch/pytorch (``TestNNInit`` and
``TestNNInitDeviceType``) for every function vscale.torch shares with ``torch.nn.init``:
``calculate_gain`` (5 tests), ``uniform_``, ``normal_``, ``trunc_normal_`` with a generator,
the fewer-than-2-dimensions refusals of the kaiming and xavier functions (4), their
zero-element warnings (2), their distributions (4), and the device tests of
``trunc_normal_`` (all dtypes, float16/bfloat16, a narrow interval, unique values, no
boundary values).  The checks and thresholds are upstream's: a Kolmogorov-Smirnov p-value
above 0.0001 against SciPy's distribution, random sizes of 30 to 50 (20 to 25) per
dimension, at least 5000/5000/3000/1000 distinct values of 10000 in
float32/float64/float16/bfloat16.  The code is ours; upstream's ``random.seed(123)``
becomes a seeded ``random.Random`` per test, and torch's global seed is fixed per test, so
each run draws the same values.  (``constant_``, ``eye_``, ``dirac_``, ``sparse_`` and
``orthogonal_`` are not variance-scaling distributions and are not part of vscale.torch.)
"""

from __future__ import annotations

import math
import random
import string

import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

import vscale.torch as init  # noqa: E402  (the module under test, named as upstream names torch.nn.init)

P_MIN = 0.0001


@pytest.fixture
def rng():
    torch.manual_seed(123)
    return random.Random(123)


def _is_normal(tensor, mean, std):
    return stats.kstest(tensor.reshape(-1).tolist(), "norm", args=(mean, std)).pvalue > P_MIN


def _is_trunc_normal(tensor, mean, std, a, b):
    z = ((tensor.reshape(-1).double() - mean) / std).tolist()
    return stats.kstest(z, "truncnorm", args=((a - mean) / std, (b - mean) / std)).pvalue > P_MIN


def _is_uniform(tensor, a, b):
    return stats.kstest(tensor.reshape(-1).tolist(), "uniform", args=(a, b - a)).pvalue > P_MIN


def _random_tensor(rng, dims, size_min, size_max):
    return torch.zeros([rng.randint(size_min, size_max) for _ in range(dims)])


def _torch_fans(tensor):
    receptive = tensor[0, 0].numel() if tensor.dim() > 2 else 1
    return tensor.size(1) * receptive, tensor.size(0) * receptive


# -- calculate_gain ---------------------------------------------------------------------------


def test_calculate_gain_linear():
    for fn in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "conv_transpose2d", "conv_transpose3d"]:
        assert init.calculate_gain(fn) == 1


def test_calculate_gain_nonlinear():
    expected = {"sigmoid": 1, "tanh": 1.6666666666666667, "relu": 1.4142135623730951, "leaky_relu": 1.4141428569978354}
    for fn, gain in expected.items():
        assert init.calculate_gain(fn) == gain
    assert init.calculate_gain("selu") == 0.75


def test_calculate_gain_leaky_relu():
    expected = {None: 1.4141428569978354, 0: 1.4142135623730951, 0.01: 1.4141428569978354, 10: 0.14071950894605836}
    for param, gain in expected.items():
        assert init.calculate_gain("leaky_relu", param) == gain


def test_calculate_gain_leaky_relu_only_accepts_numbers():
    for param in [True, [1], {"a": "b"}]:
        with pytest.raises(ValueError):
            init.calculate_gain("leaky_relu", param)


def test_calculate_gain_only_accepts_valid_nonlinearities(rng):
    for n in [2, 5, 25]:
        with pytest.raises(ValueError):
            init.calculate_gain("".join(rng.choice(string.ascii_lowercase) for _ in range(n)))


# -- uniform_, normal_, trunc_normal_ ---------------------------------------------------------


def test_uniform(rng):
    for dims in [1, 2, 4]:
        tensor = _random_tensor(rng, dims, 30, 50)
        a = rng.uniform(-3, 3)
        b = a + rng.uniform(1, 5)
        init.uniform_(tensor, a=a, b=b)
        assert _is_uniform(tensor, a, b)


def test_normal(rng):
    for dims in [1, 2, 4]:
        tensor = _random_tensor(rng, dims, 30, 50)
        mean = rng.uniform(-3, 3)
        std = rng.uniform(1, 5)
        init.normal_(tensor, mean=mean, std=std)
        assert _is_normal(tensor, mean, std)


def test_trunc_normal_generator():
    generator = torch.Generator()
    generator.manual_seed(42)
    tensor = torch.empty(5)
    init.trunc_normal_(tensor, generator=generator)
    reference = torch.empty(5)
    torch.manual_seed(42)
    init.trunc_normal_(reference)
    assert torch.equal(tensor, reference)
    # Upstream's check (truncnorm on [0, 1], a window these values are not drawn from: at
    # n=5 the KS test has little power), and the window they are drawn from, [-2, 2].
    assert _is_trunc_normal(tensor, mean=0, std=1, a=0, b=1)
    assert _is_trunc_normal(tensor, mean=0, std=1, a=-2, b=2)


# -- xavier_* and kaiming_* -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"])
def test_errors_on_inputs_smaller_than_2d(rng, name):
    for dims in [0, 1]:
        with pytest.raises(ValueError):
            getattr(init, name)(_random_tensor(rng, dims, 1, 1))


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_warning_on_0element_tensor(name):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        getattr(init, name)(torch.empty(0, 1))


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_xavier(rng, distribution):
    for use_gain in [True, False]:
        for dims in [2, 4]:
            tensor = _random_tensor(rng, dims, 20, 25)
            gain = 1
            fill = getattr(init, f"xavier_{distribution}_")
            if use_gain:
                gain = rng.uniform(0.1, 2)
                fill(tensor, gain=gain)
            else:
                fill(tensor)
            fan_in, fan_out = _torch_fans(tensor)
            std = gain * math.sqrt(2.0 / (fan_in + fan_out))
            if distribution == "uniform":
                assert _is_uniform(tensor, -std * math.sqrt(3), std * math.sqrt(3))
            else:
                assert _is_normal(tensor, 0, std)


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_kaiming(rng, distribution):
    for use_a in [True, False]:
        for dims in [2, 4]:
            for mode in ["fan_in", "fan_out"]:
                tensor = _random_tensor(rng, dims, 20, 25)
                fill = getattr(init, f"kaiming_{distribution}_")
                if use_a:
                    a = rng.uniform(0.1, 2)
                    fill(tensor, a=a, mode=mode)
                else:
                    a = 0
                    fill(tensor, mode=mode)
                fan_in, fan_out = _torch_fans(tensor)
                std = math.sqrt(2.0 / ((1 + a**2) * (fan_in if mode == "fan_in" else fan_out)))
                if distribution == "uniform":
                    assert _is_uniform(tensor, -std * math.sqrt(3.0), std * math.sqrt(3.0))
                else:
                    assert _is_normal(tensor, 0, std)


# -- TestNNInitDeviceType: trunc_normal_ on every device --------------------------------------

torch_devices = pytest.mark.backends("torch:cpu", "torch:cuda")


@torch_devices
@pytest.mark.parametrize("dims", [1, 2, 4])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trunc_normal_all_dtypes(backend, rng, dims, dtype):
    dtype = getattr(torch, dtype)
    tensor = torch.zeros([rng.randint(30, 50) for _ in range(dims)], dtype=dtype, device=backend.device)
    mean = rng.uniform(-3, 3)
    std = rng.uniform(0.01, 1)
    a = rng.uniform(mean - 2 * std, mean)
    b = rng.uniform(mean, mean + 2 * std)
    init.trunc_normal_(tensor, mean=mean, std=std, a=a, b=b)
    assert tensor.min().item() >= torch.tensor(a, dtype=dtype).item()
    assert tensor.max().item() <= torch.tensor(b, dtype=dtype).item()
    assert _is_trunc_normal(tensor.float().cpu(), mean, std, a, b)


@torch_devices
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_trunc_normal_low_precision(backend, rng, dtype):
    tensor = torch.empty(10000, dtype=getattr(torch, dtype), device=backend.device)
    init.trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0)
    assert tensor.min().item() >= -2.0 and tensor.max().item() <= 2.0
    assert _is_trunc_normal(tensor.float().cpu(), 0.0, 1.0, -2.0, 2.0)


@torch_devices
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_trunc_normal_narrow_interval(backend, rng, dtype):
    tensor = torch.empty(10000, dtype=getattr(torch, dtype), device=backend.device)
    init.trunc_normal_(tensor, mean=0.0, std=1.0, a=2.0, b=3.0)
    assert tensor.min().item() >= 2.0 and tensor.max().item() <= 3.0
    assert _is_trunc_normal(tensor.float().cpu(), 0.0, 1.0, 2.0, 3.0)


@torch_devices
@pytest.mark.parametrize(("dtype", "min_unique"), [("float32", 5000), ("float64", 5000), ("float16", 3000),
                                                   ("bfloat16", 1000)])  # fmt: skip
def test_trunc_normal_unique_values(backend, rng, dtype, min_unique):
    tensor = torch.empty(10000, dtype=getattr(torch, dtype), device=backend.device)
    init.trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0)
    assert tensor.min().item() >= -2.0 and tensor.max().item() <= 2.0
    assert tensor.unique().numel() > min_unique
    assert not tensor.isinf().any().item() and not tensor.isnan().any().item()


@torch_devices
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_trunc_normal_no_boundary_values_small_std(backend, rng, dtype):
    tensor = torch.empty(10000, dtype=getattr(torch, dtype), device=backend.device)
    init.trunc_normal_(tensor, mean=0.0, std=0.1, a=-2.0, b=2.0)
    assert (tensor == -2.0).sum().item() == 0 and (tensor == 2.0).sum().item() == 0
