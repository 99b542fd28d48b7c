from __future__ import annotations

import math

import numpy as np
import pytest

import vscale


def keras_rule(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras' compute_fans, restated independently for comparison."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = 1
    for dim in shape[:-2]:
        receptive *= dim
    return shape[-2] * receptive, shape[-1] * receptive


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((), (1, 1)),
        ((7,), (7, 7)),
        ((0,), (0, 0)),
        ((3, 5), (3, 5)),
        ((0, 5), (0, 5)),
        ((4, 3, 5), (12, 20)),
        ((3, 3, 64, 128), (576, 1152)),
        ((2, 3, 4, 5, 6), (120, 144)),
        ((2, 0, 4, 5, 6), (0, 0)),
        ((3, 3, 0, 8), (0, 72)),
    ],
)
def test_fans_by_rank(shape, expected):
    fans = vscale.compute_fans(shape)
    assert fans == expected == keras_rule(shape)
    assert all(type(f) is int for f in fans)


def test_fans_accept_numpy_and_torch_shapes():
    assert vscale.compute_fans(np.array([3, 4, 5])) == (12, 15)
    assert vscale.compute_fans((np.int64(3), np.int32(4))) == (3, 4)
    torch = pytest.importorskip("torch")
    assert vscale.compute_fans(torch.Size([8, 3, 3, 3])) == keras_rule((8, 3, 3, 3))


# Hand-computed fans (Keras: conv kernel (*k, in, out) -> (prod(k) * in, prod(k) * out)).
HUGE = [
    ((2**21, 2**20, 2**22), (2**41, 2**43)),
    ((2**40, 2**40), (2**40, 2**40)),
    ((2**60,), (2**60, 2**60)),
    # 3**20 * 5**10 * 7**12 is about 4.7e26: float64 arithmetic would round it (checked below).
    ((3**20, 5**10, 7**12, 11**9), (3**20 * 5**10 * 7**12, 3**20 * 5**10 * 11**9)),
]


@pytest.mark.parametrize(("shape", "expected"), HUGE)
def test_fans_are_exact_for_huge_dims(shape, expected):
    fans = vscale.compute_fans(shape)
    assert fans == expected
    assert all(type(f) is int for f in fans)


def test_huge_case_would_catch_float_arithmetic():
    """The last HUGE case is only a check of exactness if float64 products get it wrong."""
    shape, (fan_in, _) = HUGE[-1]
    as_floats = math.prod(float(d) for d in shape[:-1])
    assert int(as_floats) != fan_in


KERAS_SHAPES = [(), (7,), (0,), (3, 5), (5, 3), (4, 3, 5), (3, 3, 64, 128), (2, 3, 4, 5, 6), (2, 0, 4, 5, 6), (1, 1, 1)]


@pytest.mark.parametrize("shape", KERAS_SHAPES + [s for s, _ in HUGE])
def test_fans_match_keras_compute_fans(shape, monkeypatch):
    """Keras' own compute_fans as the oracle (KERAS_BACKEND=numpy: no TensorFlow needed)."""
    monkeypatch.setenv("KERAS_BACKEND", "numpy")  # only matters if keras is not imported yet
    random_initializers = pytest.importorskip("keras.src.initializers.random_initializers")
    assert vscale.compute_fans(shape) == random_initializers.compute_fans(shape)


@pytest.mark.parametrize(
    ("mode", "distribution", "shape", "n"),
    [
        ("fan_in", "uniform", (0, 5), 1.0),  # divisor is max(1, n)
        ("fan_out", "uniform", (4, 0), 1.0),
        ("fan_avg", "truncated_normal", (3, 3, 64, 128), 864.0),
        ("fan_in", "untruncated_normal", (), 1.0),
    ],
)
def test_divisor_and_parameters(mode, distribution, shape, n):
    init = vscale.VarianceScaling(2.0, mode, distribution)
    params = init.parameters(shape)
    assert params.n == n
    assert params.stddev == pytest.approx(math.sqrt(2.0 / n), rel=1e-15)
    if distribution == "uniform":
        assert params.bound == pytest.approx(math.sqrt(3 * 2.0 / n), rel=1e-15)
    elif distribution == "truncated_normal":
        assert params.bound == pytest.approx(2 * math.sqrt(2.0 / n) / 0.87962566103423978, rel=1e-15)
    else:
        assert params.bound == math.inf
