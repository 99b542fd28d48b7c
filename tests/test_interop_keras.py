"""Keras 3 (NumPy backend) interop: configs load and give Keras' fans, sigma/limit and support."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "numpy"  # before the first import of keras: no TensorFlow
keras = pytest.importorskip("keras")
random_initializers = pytest.importorskip("keras.src.initializers.random_initializers")

import vscale  # noqa: E402

PRESET_NAMES = ["GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal"]
CONFIGS = [
    dict(scale=0.1, mode="fan_in", distribution="uniform"),
    dict(scale=2.0, mode="fan_out", distribution="truncated_normal"),
    dict(scale=3.0, mode="fan_avg", distribution="untruncated_normal"),
    dict(scale=1.0, mode="fan_avg", distribution="normal"),
    dict(scale=0.5, mode="fan_in", distribution="uniform", input_axes=[0], output_axes=[1, 2]),
    dict(scale=1.5, mode="fan_out", distribution="truncated_normal", input_axes=[-2], output_axes=[-1]),
]
SHAPES = [(5,), (6, 7), (3, 3, 4, 8), (2, 3, 4, 5, 6), (16, 4, 8)]


def _keras_objects():
    objects = [getattr(keras.initializers, name)(seed=3) for name in PRESET_NAMES]
    return objects + [keras.initializers.VarianceScaling(seed=3, **config) for config in CONFIGS]


class _Recorder:
    """Stands in for ``keras.random`` inside the initializer module to catch its arguments."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(shape, **kwargs):
            self.calls.append((name, kwargs))
            return np.zeros(shape)

        return record


def _keras_draw(obj, shape, monkeypatch):
    recorder = _Recorder()
    monkeypatch.setattr(random_initializers, "random", recorder)
    obj(shape)
    ((name, kwargs),) = recorder.calls
    return name, kwargs


@pytest.mark.parametrize("obj", _keras_objects(), ids=lambda o: f"{type(o).__name__}-{o.get_config()}")
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_config_gives_keras_fans_spread_and_support(obj, shape, monkeypatch):
    ours = vscale.get({"class_name": type(obj).__name__, "config": obj.get_config()})
    assert type(ours).__name__ == type(obj).__name__
    try:
        fans = random_initializers.compute_fans(shape, obj.input_axes, obj.output_axes)
    except IndexError:  # axes beyond this rank: Keras fails too, we say which axis
        with pytest.raises(ValueError, match=r"out of range for a weight of shape"):
            ours.parameters(shape)
        return
    params = ours.parameters(shape)
    assert (params.fan_in, params.fan_out) == fans
    name, kwargs = _keras_draw(obj, shape, monkeypatch)
    if ours.distribution == "uniform":
        assert name == "uniform"
        assert kwargs["maxval"] == pytest.approx(params.bound, rel=1e-14)
        assert kwargs["minval"] == pytest.approx(-params.bound, rel=1e-14)
    elif ours.distribution == "truncated_normal":
        assert name == "truncated_normal"  # Keras truncates at 2 stddev of its argument
        assert kwargs["stddev"] == pytest.approx(params.sigma, rel=1e-14)
        assert 2 * kwargs["stddev"] == pytest.approx(params.bound, rel=1e-14)
    else:
        assert name == "normal" and math.isinf(params.bound)
        assert kwargs["stddev"] == pytest.approx(params.stddev, rel=1e-14)


@pytest.mark.parametrize("obj", _keras_objects()[:6], ids=lambda o: type(o).__name__)
def test_samples_share_the_support(obj):
    shape = (64, 128)
    theirs = np.asarray(obj(shape), dtype=np.float64)
    ours = vscale.get(keras.initializers.serialize(obj))(shape, "float64")
    bound = vscale.get(keras.initializers.serialize(obj)).parameters(shape).bound
    assert np.abs(theirs).max() <= bound * (1 + 1e-6)
    assert np.abs(ours).max() <= bound
    # 8192 draws: both maxima exceed 0.9 bound (uniform: 0.9**8192 ~ 0; truncated
    # normal: P(|x| < 1.8 sigma | |x| < 2 sigma) ** 8192 ~ 0).
    assert np.abs(theirs).max() > 0.9 * bound and np.abs(ours).max() > 0.9 * bound


def test_keras_serialized_dicts_and_vscale_configs_load_both_ways():
    obj = keras.initializers.VarianceScaling(2.0, "fan_avg", "uniform", input_axes=[0], output_axes=[1])
    ours = vscale.get(keras.initializers.serialize(obj))
    assert (ours.input_axes, ours.output_axes) == ((0,), (1,))
    back = keras.initializers.VarianceScaling.from_config(ours.get_config())
    assert back.get_config() == obj.get_config()
    for name in PRESET_NAMES:
        theirs = getattr(keras.initializers, name).from_config(getattr(vscale, name)(seed=4).get_config())
        assert theirs.get_config()["seed"] == 4


@pytest.mark.parametrize(
    "bad",
    [
        dict(scale=-1.0),
        dict(scale=0.0),
        dict(mode="fan"),
        dict(mode=None),
        dict(distribution="gaussian"),
        dict(seed="0"),
    ],
    ids=str,
)
def test_bad_arguments_rejected_by_both(bad):
    with pytest.raises((ValueError, TypeError, AttributeError)):
        keras.initializers.VarianceScaling(**bad)
    with pytest.raises((ValueError, TypeError)) as info:
        vscale.VarianceScaling(**bad)
    argument = next(iter(bad))
    assert f"`{argument}`" in str(info.value) and repr(bad[argument]) in str(info.value)


def test_case_of_mode_is_a_documented_difference():
    with pytest.raises(ValueError):
        keras.initializers.VarianceScaling(mode="FAN_IN")
    assert vscale.VarianceScaling(mode="FAN_IN").mode == "fan_in"


KERAS_ROUND_TRIP = r"""
import json, sys
import numpy as np
import keras, vscale

assert keras.backend.backend() == sys.argv[1]
facts = {}
init = vscale.HeNormal(seed=0)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, kernel_initializer=init)])
kernel = keras.ops.convert_to_numpy(model.layers[0].kernel)
facts["built_is_vscale_call_0"] = bool(np.array_equal(kernel, vscale.HeNormal(seed=0)((8, 4))))
model.compile("sgd", "mse")
model.fit(np.ones((16, 8)), np.zeros((16, 4)), epochs=1, verbose=0)
trained = keras.ops.convert_to_numpy(model.layers[0].kernel)
facts["fit_moved_the_kernel"] = bool(not np.array_equal(trained, kernel))
model.save(sys.argv[2] + "/preset.keras")
loaded = keras.saving.load_model(sys.argv[2] + "/preset.keras")
facts["preset_loaded_class"] = type(loaded.layers[0].kernel_initializer).__module__.split(".")[0] + "." + type(loaded.layers[0].kernel_initializer).__name__
facts["preset_loaded_config"] = loaded.layers[0].kernel_initializer.get_config()
facts["preset_values_kept"] = bool(np.array_equal(keras.ops.convert_to_numpy(loaded.layers[0].kernel), trained))

own = vscale.VarianceScaling(2.0, "fan_in", "uniform", seed=1, prng="threefry")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, kernel_initializer=own)])
model.save(sys.argv[2] + "/own.keras")
try:
    keras.saving.load_model(sys.argv[2] + "/own.keras")
    facts["own_plain_load"] = "loaded"
except TypeError:
    facts["own_plain_load"] = "TypeError"
objects = {cls.__name__: cls for cls in (vscale.VarianceScaling,)}
loaded = keras.saving.load_model(sys.argv[2] + "/own.keras", custom_objects=objects)
facts["own_loaded_class"] = type(loaded.layers[0].kernel_initializer).__module__ + "." + type(loaded.layers[0].kernel_initializer).__name__
facts["own_loaded_config"] = loaded.layers[0].kernel_initializer.get_config()
print(json.dumps(facts))
"""


@pytest.mark.parametrize("keras_backend", ["torch", "jax"])
def test_vscale_initializers_inside_keras_on_torch_and_jax(keras_backend, tmp_path):
    """Build, fit one step, save and load a model whose Dense kernel is a vscale initializer,
    on Keras' torch and JAX backends (each in its own interpreter: Keras picks its backend once)."""
    if importlib.util.find_spec(keras_backend) is None:
        pytest.skip(f"{keras_backend} is not installed")
    env = {**os.environ, "KERAS_BACKEND": keras_backend}
    result = subprocess.run(
        [sys.executable, "-c", KERAS_ROUND_TRIP, keras_backend, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["built_is_vscale_call_0"] and facts["fit_moved_the_kernel"]
    # A preset's config has only Keras' keys: Keras loads it as its own class, same config.
    assert facts["preset_loaded_class"] == "keras.HeNormal"
    assert {k: v for k, v in facts["preset_loaded_config"].items() if v is not None} == {"seed": 0}
    assert facts["preset_values_kept"]
    # vscale-only keys (prng, layout, groups) need vscale's class: custom_objects.
    assert facts["own_plain_load"] == "TypeError"
    assert facts["own_loaded_class"] == "vscale.VarianceScaling"
    assert facts["own_loaded_config"] == {
        "scale": 2.0, "mode": "fan_in", "distribution": "uniform", "seed": 1, "prng": "threefry",
    }  # fmt: skip
