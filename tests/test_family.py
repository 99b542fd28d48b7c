"""The Glorot/He/LeCun presets, ``vscale.get`` and ``vscale.serialize``."""

from __future__ import annotations

import json
import math

import pytest

import vscale
from tests._helpers import assert_same_values
from vscale.api.family import PRESETS

# Keras' parameters (keras/src/initializers/random_initializers.py).
KERAS_PARAMETERS = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
}
SNAKE = {
    "GlorotUniform": "glorot_uniform",
    "GlorotNormal": "glorot_normal",
    "HeUniform": "he_uniform",
    "HeNormal": "he_normal",
    "LecunUniform": "lecun_uniform",
    "LecunNormal": "lecun_normal",
}


def test_every_preset_is_exported_with_its_alias():
    assert {cls.__name__ for cls in PRESETS} == set(KERAS_PARAMETERS)
    for name, alias in SNAKE.items():
        assert getattr(vscale, alias) is getattr(vscale, name)
        assert name in vscale.__all__ and alias in vscale.__all__


@pytest.mark.parametrize("name", sorted(KERAS_PARAMETERS))
def test_preset_parameters_are_keras(name):
    scale, mode, distribution = KERAS_PARAMETERS[name]
    init = getattr(vscale, name)(seed=3)
    assert (init.scale, init.mode, init.distribution, init.seed) == (scale, mode, distribution, 3)
    assert isinstance(init, vscale.VarianceScaling)
    for shape in [(5, 7), (3, 3, 16, 32)]:
        assert init.parameters(shape) == vscale.VarianceScaling(scale, mode, distribution).parameters(shape)


def test_preset_formulas_from_the_papers():
    fan_in, fan_out = 576, 1152
    shape = (3, 3, 64, 128)
    assert vscale.GlorotUniform().parameters(shape).bound == pytest.approx(math.sqrt(6 / (fan_in + fan_out)))
    assert vscale.GlorotNormal().parameters(shape).stddev == pytest.approx(math.sqrt(2 / (fan_in + fan_out)))
    assert vscale.HeUniform().parameters(shape).bound == pytest.approx(math.sqrt(6 / fan_in))
    assert vscale.HeNormal().parameters(shape).stddev == pytest.approx(math.sqrt(2 / fan_in))
    assert vscale.LecunUniform().parameters(shape).bound == pytest.approx(math.sqrt(3 / fan_in))
    assert vscale.LecunNormal().parameters(shape).stddev == pytest.approx(math.sqrt(1 / fan_in))


@pytest.mark.parametrize("name", sorted(KERAS_PARAMETERS))
def test_preset_draws_like_the_equivalent_variance_scaling(name, backend):
    scale, mode, distribution = KERAS_PARAMETERS[name]
    kwargs = dict(xp=backend.module, device=backend.device)
    preset = getattr(vscale, name)(seed=11, layout="torch")((32, 16, 3), "float32", **kwargs)
    plain = vscale.VarianceScaling(scale, mode, distribution, seed=11, layout="torch")((32, 16, 3), "float32", **kwargs)
    assert_same_values(preset, plain, backend, "float32")


@pytest.mark.parametrize("cls", PRESETS, ids=lambda c: c.__name__)
def test_preset_config_round_trip(cls):
    assert cls(seed=5).get_config() == {"seed": 5}
    for init in (cls(seed=5), cls(layout="torch", groups=2), cls(None, [0], [1, 2])):
        config = init.get_config()
        json.dumps(config)
        again = cls.from_config(config)
        assert type(again) is cls and again.get_config() == config


@pytest.mark.parametrize("cls", PRESETS, ids=lambda c: c.__name__)
def test_preset_from_config_accepts_keras_configs(cls):
    # Keras 3 writes the axes even when unset; Keras 2 wrote only the seed.
    assert cls.from_config({"seed": 2, "input_axes": None, "output_axes": None}).get_config() == {"seed": 2}
    scale, mode, distribution = KERAS_PARAMETERS[cls.__name__]
    full = {"scale": scale, "mode": mode, "distribution": distribution, "seed": None}
    assert cls.from_config(full).get_config() == {"seed": None}


def test_preset_from_config_rejects_other_values_and_keys():
    with pytest.raises(ValueError, match=r"has scale=1\.0, but HeNormal fixes scale=2\.0"):
        vscale.HeNormal.from_config({"scale": 1.0})
    with pytest.raises(ValueError, match=r"unknown keys \['bogus'\]"):
        vscale.HeNormal.from_config({"seed": 1, "bogus": 2})
    with pytest.raises(TypeError, match=r"`config` must be a dict"):
        vscale.HeNormal.from_config([("seed", 1)])
    # "normal" is Keras' old name of the truncated normal: accepted.
    assert vscale.HeNormal.from_config({"distribution": "normal"}).distribution == "truncated_normal"


@pytest.mark.parametrize("name", sorted(KERAS_PARAMETERS))
def test_get_by_name_in_both_case_styles(name):
    cls = getattr(vscale, name)
    for identifier in (name, SNAKE[name], SNAKE[name].upper()):
        init = vscale.get(identifier)
        assert type(init) is cls and init.seed is None


def test_get_other_identifiers():
    assert type(vscale.get("variance_scaling")) is vscale.VarianceScaling
    he = vscale.HeUniform(seed=1)
    assert vscale.get(he) is he
    assert type(vscale.get(vscale.LecunNormal)) is vscale.LecunNormal
    assert vscale.get(None) is None
    from_config = vscale.get({"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 4})
    assert from_config.get_config() == {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 4}
    keras_style = {
        "module": "keras.initializers",
        "class_name": "GlorotNormal",
        "config": {"seed": 7, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }
    assert repr(vscale.get(keras_style)) == "GlorotNormal(seed=7)"


def test_get_errors():
    with pytest.raises(ValueError, match=r"Unknown initializer: received 'xavier'.*'GlorotUniform'.*'he_normal'"):
        vscale.get("xavier")
    with pytest.raises(ValueError, match=r"Unknown initializer: received 'Orthogonal'"):
        vscale.get({"class_name": "Orthogonal", "config": {}})
    with pytest.raises(TypeError, match=r"`identifier`.*received 3 of type int"):
        vscale.get(3)
    with pytest.raises(TypeError, match=r"'class_name'"):
        vscale.get({"class_name": 1, "config": {}})
    with pytest.raises(TypeError, match=r"`identifier`"):
        vscale.get(dict)


@pytest.mark.parametrize(
    "init",
    [
        vscale.VarianceScaling(0.5, "fan_avg", "untruncated_normal", seed=3, layout="torch_transposed", groups=2),
        vscale.VarianceScaling(input_axes=[0], output_axes=[1]),
        *(cls(seed=9, layout="torch") for cls in PRESETS),
    ],
    ids=repr,
)
def test_serialize_round_trip(init):
    data = vscale.serialize(init)
    assert set(data) == {"module", "class_name", "config", "registered_name"}
    assert json.loads(json.dumps(data)) == data
    again = vscale.get(data)
    assert type(again) is type(init) and again.get_config() == init.get_config()


def test_serialize_rejects_non_initializers():
    with pytest.raises(TypeError, match=r"`initializer`"):
        vscale.serialize("he_normal")
