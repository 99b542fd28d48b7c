"""Rough edges a new user meets in the first hour: each case failed before its fix."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vscale


def test_framework_dtype_without_xp_picks_its_library():
    torch = pytest.importorskip("torch")
    result = vscale.HeNormal(seed=0)((2, 3), torch.float16)
    assert isinstance(result, torch.Tensor) and result.dtype == torch.float16
    jnp = pytest.importorskip("jax.numpy")
    assert type(vscale.HeNormal(seed=0)((2, 3), jnp.float32)).__module__.startswith("jax")
    assert isinstance(vscale.HeNormal(seed=0)((2, 3), np.float32), np.ndarray)  # NumPy stays NumPy


@pytest.mark.parametrize("shape", [{3: 1, 4: 2}, {3, 4}, frozenset({2})])
def test_unordered_shapes_are_refused(shape):
    with pytest.raises(TypeError, match=r"Argument `shape` must be a sequence"):
        vscale.HeNormal()(shape)


def test_gigantic_integers_never_hit_the_int_to_str_limit():
    with pytest.raises(ValueError, match=r"`shape`.*gigantic"):
        vscale.HeNormal()((-(10**5000),))
    assert repr(vscale.HeNormal(seed=10**5000)) == "HeNormal(seed=<int with a gigantic entry>)"


def test_configs_with_non_string_keys_name_the_keys():
    with pytest.raises(TypeError, match=r"`config` must have string keys; received the keys \[1\]"):
        vscale.VarianceScaling.from_config({1: 2, "scale": 1.0})
    with pytest.raises(TypeError, match=r"string keys"):
        vscale.HeNormal.from_config({("seed",): 1})


def test_bool_scale_is_refused_from_a_config():
    with pytest.raises(TypeError, match=r"`scale`.*True"):
        vscale.VarianceScaling.from_config({"scale": True})


def test_presets_say_which_arguments_they_take():
    with pytest.raises(TypeError, match=r"HeNormal fixes scale=2.0.*takes only seed.*\['scale'\].*VarianceScaling"):
        vscale.HeNormal(scale=3)


def test_deserialize_is_the_inverse_of_serialize():
    for init in (vscale.HeNormal(seed=3), vscale.VarianceScaling(0.5, "fan_avg", "uniform", seed=1, layout="torch")):
        back = vscale.deserialize(vscale.serialize(init))
        assert type(back) is type(init) and back.get_config() == init.get_config()
    assert vscale.deserialize("glorot_uniform").get_config() == {"seed": None}
    with pytest.raises(TypeError, match=r"`config`"):
        vscale.deserialize(3)


def test_no_overflow_warning_at_the_largest_accepted_float32_scale():
    """pyproject turns RuntimeWarning into errors: the call must be silent at the edge."""
    low, high = 1.0, 1e80
    for _ in range(200):  # bisect the largest scale a (1, 4096) float32 truncated normal accepts
        middle = math.sqrt(low * high)
        try:
            vscale.VarianceScaling(middle).parameters((1, 4096))
            vscale.VarianceScaling(middle)((1, 1), "float32")
            low = middle
        except ValueError:
            high = middle
    values = vscale.VarianceScaling(low, seed=0)((1, 4096), "float32")
    assert np.isfinite(values).all()
    assert np.abs(values).max() <= np.finfo(np.float32).max
