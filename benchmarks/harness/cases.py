"""What the harness times: vscale per backend and each installed peer, as named cases.

A case is built from its name alone (``"numpy/vscale/truncated_normal"``), so that a
child process can rebuild it to measure its memory.  Building a case imports its
library and does every one-off cost (JAX compilation, Keras' backend import) outside
the timed call; the returned :class:`Case`'s ``call`` creates one array of ``shape``
and waits until it is complete.

Groups are the devices compared with each other: ``cpu`` (NumPy, torch CPU, JAX CPU,
Keras' NumPy backend, SciPy) and ``cuda`` (torch CUDA, CuPy).  Each group has a floor,
the raw uniform draws of its fastest generator, that every time is divided by.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vscale.core.transforms import DISTRIBUTIONS  # noqa: E402

# Keras' numpy backend must be chosen before keras is first imported, or Keras 3
# imports TensorFlow (its default backend).
os.environ.setdefault("KERAS_BACKEND", "numpy")


@dataclass
class Case:
    """One timed call: ``call()`` returns a complete array of ``shape``."""

    name: str
    group: str
    call: Callable[[], Any]
    memory: str  # how peak memory is measured: "tracemalloc", "cuda", "cupy" or "rss"
    sync: Callable[[], None] = lambda: None


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def cuda_available() -> tuple[bool, str]:
    """Whether torch sees a CUDA device, and why not if it does not."""
    if not installed("torch"):
        return False, "torch is not installed"
    import torch

    if not torch.cuda.is_available():
        return False, "torch.cuda.is_available() is False (no GPU on this machine)"
    return True, ""


def cupy_available() -> tuple[bool, str]:
    if not installed("cupy"):
        return False, "cupy is not installed"
    import cupy

    try:
        cupy.zeros(1)
    except Exception as error:  # CUDARuntimeError without a driver
        return False, f"cupy has no usable GPU ({type(error).__name__})"
    return True, ""


def stddev(shape: tuple[int, ...]) -> float:
    """VarianceScaling(1, fan_in)'s deviation for ``shape`` (a 2-D kernel: fan_in = rows)."""
    return math.sqrt(1.0 / shape[0])


def case_names(backends: list[str], peers: list[str], distributions: list[str]) -> list[str]:
    """Every case name for the chosen backends and peers, floors first."""
    names = []
    for backend in backends:
        names.append(f"{backend}/floor/uniform")
        if backend == "torch-cuda":
            names.append(f"{backend}/copy/uniform")  # the device's achievable bandwidth
        names += [f"{backend}/vscale/{d}" for d in distributions]
        for peer in peers:
            names += [f"{backend}/{peer}/{d}" for d in distributions if _supports(backend, peer, d)]
    return names


def _supports(backend: str, peer: str, distribution: str) -> bool:
    table: dict[tuple[str, str], set[str]] = {
        ("numpy", "numpy"): {"untruncated_normal"},  # standard_normal
        ("numpy", "jax"): set(DISTRIBUTIONS),
        ("numpy", "keras"): set(DISTRIBUTIONS),
        ("numpy", "scipy"): {"truncated_normal"},
        ("torch", "torch"): set(DISTRIBUTIONS),
        ("torch-cuda", "torch"): set(DISTRIBUTIONS),
        ("torch-cuda", "jax"): set(DISTRIBUTIONS),  # JAX on the GPU, in the cuda group
        ("cupy", "cupy"): {"untruncated_normal", "uniform"},  # standard_normal, random
    }
    if peer in ("threefry", "region"):  # vscale's portable stream, on every backend
        return True
    return distribution in table.get((backend, peer), set())


def make_case(name: str, shape: tuple[int, ...]) -> Case:
    """The :class:`Case` called ``name`` (``backend/library/distribution``) for ``shape``."""
    backend, library, distribution = name.split("/")
    builder = _BUILDERS[(backend, library)]
    return builder(name, shape, distribution)


def _vscale(name: str, shape: tuple[int, ...], distribution: Any) -> Case:
    """vscale's native stream (``vscale``), its portable one (``threefry``), or a region
    of the first 1% of the rows with the portable one (``region``)."""
    import vscale

    backend, library, _ = name.split("/")
    prng: Any = "native" if library == "vscale" else "threefry"
    init = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)
    options: dict[str, Any] = {"region": (slice(0, max(1, shape[0] // 100)),)} if library == "region" else {}
    if backend == "numpy":
        return Case(name, "cpu", lambda: init(shape, **options), "tracemalloc")
    if backend == "torch":
        return Case(name, "cpu", lambda: init(shape, xp="torch", **options), "rss")
    if backend == "torch-cuda":
        import torch

        call = lambda: init(shape, xp=torch, device="cuda", **options)  # noqa: E731
        return Case(name, "cuda", call, "cuda", torch.cuda.synchronize)
    import cupy

    return Case(name, "cuda", lambda: init(shape, xp=cupy, **options), "cupy", cupy.cuda.Device().synchronize)


def _numpy_floor(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    import numpy as np

    rng = np.random.default_rng(0)
    return Case(name, "cpu", lambda: rng.random(shape, dtype=np.float32), "tracemalloc")


def _numpy_peer(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    import numpy as np

    rng = np.random.default_rng(0)
    return Case(name, "cpu", lambda: rng.standard_normal(shape, dtype=np.float32), "tracemalloc")


def _torch_floor(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    import torch

    device = "cuda" if name.startswith("torch-cuda") else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    call = lambda: torch.empty(shape, device=device).uniform_()  # noqa: E731
    return Case(name, "cuda" if device == "cuda" else "cpu", call, "cuda" if device == "cuda" else "rss", sync)


def _torch_peer(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    """torch.nn.init's counterparts: same deviation, truncation at +-2 sigma."""
    import torch

    device = "cuda" if name.startswith("torch-cuda") else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    # torch orders a Linear weight (out, in): fan_in is the last dimension, so the
    # torch tensor is the transpose of vscale's (in, out) kernel.
    torch_shape = tuple(reversed(shape))
    sigma = stddev(shape)
    init = torch.nn.init
    if distribution == "truncated_normal":
        # 0.87962566103423978: deviation of a standard normal truncated to [-2, 2].
        s = sigma / 0.87962566103423978
        call = lambda: init.trunc_normal_(torch.empty(torch_shape, device=device), 0.0, s, -2 * s, 2 * s)  # noqa: E731
    elif distribution == "untruncated_normal":
        call = lambda: init.normal_(torch.empty(torch_shape, device=device), 0.0, sigma)  # noqa: E731
    else:
        # kaiming_uniform_ with a=sqrt(5) is what nn.Linear uses; the bound differs from
        # VarianceScaling's but the work does not.
        call = lambda: init.kaiming_uniform_(torch.empty(torch_shape, device=device), a=math.sqrt(5))  # noqa: E731
    group = "cuda" if device == "cuda" else "cpu"
    return Case(name, group, call, "cuda" if device == "cuda" else "rss", sync)


def _cuda_copy(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    """A device-to-device copy: reads and writes the output's bytes once each."""
    import torch

    source = torch.empty(shape, device="cuda")
    target = torch.empty_like(source)
    return Case(name, "cuda", lambda: target.copy_(source), "cuda", torch.cuda.synchronize)


def _cupy_floor(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    import cupy
    import numpy as np

    rng = cupy.random.default_rng(0)
    return Case(name, "cuda", lambda: rng.random(shape, dtype=np.float32), "cupy", cupy.cuda.Device().synchronize)


def _jax_peer(name: str, shape: tuple[int, ...], distribution: Any) -> Case:
    import jax
    import jax.numpy as jnp

    # JAX calls the untruncated normal "normal" (Keras' "normal" is the truncated one).
    jax_name: Any = "normal" if distribution == "untruncated_normal" else distribution
    init = jax.nn.initializers.variance_scaling(1.0, "fan_in", jax_name)
    gpu = name.startswith("torch-cuda")
    device = jax.devices("gpu")[0] if gpu else jax.devices("cpu")[0]
    key = jax.device_put(jax.random.key(0), device)
    # Compiled ahead of time for this shape: compilation is a one-off, not the peer's speed.
    compiled = jax.jit(lambda k: init(k, shape, jnp.float32)).lower(key).compile()
    return Case(name, "cuda" if gpu else "cpu", lambda: compiled(key).block_until_ready(), "rss")


def _cupy_peer(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    """CuPy's own samplers, as fast as its generator goes."""
    import cupy
    import numpy as np

    rng = cupy.random.default_rng(0)
    sample = rng.standard_normal if distribution == "untruncated_normal" else rng.random
    return Case(name, "cuda", lambda: sample(shape, dtype=np.float32), "cupy", cupy.cuda.Device().synchronize)


def _keras_peer(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    import keras

    if keras.backend.backend() != "numpy":
        raise RuntimeError(f"Keras runs on its {keras.backend.backend()!r} backend; set KERAS_BACKEND=numpy first")
    init = keras.initializers.VarianceScaling(1.0, "fan_in", distribution, seed=0)
    return Case(name, "cpu", lambda: init(shape, dtype="float32"), "tracemalloc")


def _scipy_peer(name: str, shape: tuple[int, ...], distribution: str) -> Case:
    import numpy as np
    from scipy.stats import truncnorm

    rng = np.random.default_rng(0)
    s = stddev(shape) / 0.87962566103423978  # see _torch_peer
    call = lambda: truncnorm.rvs(-2.0, 2.0, scale=s, size=shape, random_state=rng).astype(np.float32)  # noqa: E731
    return Case(name, "cpu", call, "tracemalloc")


_BUILDERS: dict[tuple[str, str], Callable[[str, tuple[int, ...], str], Case]] = {
    ("numpy", "floor"): _numpy_floor,
    ("numpy", "vscale"): _vscale,
    ("numpy", "numpy"): _numpy_peer,
    ("numpy", "jax"): _jax_peer,
    ("numpy", "keras"): _keras_peer,
    ("numpy", "scipy"): _scipy_peer,
    ("torch", "floor"): _torch_floor,
    ("torch", "vscale"): _vscale,
    ("torch", "torch"): _torch_peer,
    ("torch-cuda", "floor"): _torch_floor,
    ("torch-cuda", "vscale"): _vscale,
    ("torch-cuda", "torch"): _torch_peer,
    ("torch-cuda", "copy"): _cuda_copy,
    ("cupy", "floor"): _cupy_floor,
    ("cupy", "vscale"): _vscale,
    ("cupy", "cupy"): _cupy_peer,
    ("torch-cuda", "jax"): _jax_peer,
    **{
        (backend, library): _vscale
        for backend in ("numpy", "torch", "torch-cuda", "cupy")
        for library in ("threefry", "region")
    },
}
