"""Keys, pickling, processes and hostile draws: the promises of the streams and the engine."""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import vscale
from vscale.core.complex import apply_complex, make_complex_transform

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


def _run(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
        env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# -- pickling and copying ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make", [lambda: vscale.HeNormal(seed=3), lambda: vscale.VarianceScaling(0.5, "fan_avg", "uniform", seed=9)]
)
def test_copies_continue_the_sequence(make):
    init = make()
    init((4, 5))
    for twin in (pickle.loads(pickle.dumps(init)), copy.deepcopy(init), copy.copy(init)):
        assert type(twin) is type(init) and twin.get_config() == init.get_config()
        np.testing.assert_array_equal(twin((4, 5)), _nth(make, 1))
    np.testing.assert_array_equal(init((4, 5)), _nth(make, 1))  # the original is unaffected


def _nth(make, n):
    fresh = make()
    for _ in range(n):
        fresh((4, 5))
    return fresh((4, 5))


def test_torch_save_of_a_module_holding_an_initializer(tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.Linear(3, 2)
    module.initializer = vscale.HeUniform(seed=1)
    copy.deepcopy(module)
    torch.save(module, tmp_path / "m.pt")
    loaded = torch.load(tmp_path / "m.pt", weights_only=False)
    np.testing.assert_array_equal(loaded.initializer((3, 3)), vscale.HeUniform(seed=1)((3, 3)))


def _spawned_call(init):
    return init((5, 5))


def test_spawned_processes_receive_initializers():
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.map(_spawned_call, [vscale.GlorotNormal(seed=4)] * 2)
    np.testing.assert_array_equal(results[0], vscale.GlorotNormal(seed=4)((5, 5)))
    np.testing.assert_array_equal(results[0], results[1])


# -- keys ---------------------------------------------------------------------------------


def test_unseeded_follows_numpys_global_seed_across_processes():
    code = """
        import numpy as np, vscale
        np.random.seed({seed})
        a = vscale.HeNormal()((8,)); b = vscale.HeNormal()((8,))
        print(a.tobytes().hex(), b.tobytes().hex())
    """
    first, second, other = _run(code.format(seed=0)), _run(code.format(seed=0)), _run(code.format(seed=1))
    assert first == second
    assert first != other  # the global seed, not something fixed, decides the values
    a, b = first.split()
    assert a != b  # unseeded calls still differ


def test_unseeded_follows_torch_manual_seed_across_processes():
    pytest.importorskip("torch")
    code = """
        import torch, vscale, vscale.torch
        torch.manual_seed({seed})
        net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 3))
        vscale.torch.init_module(net, vscale.HeNormal(), bias="torch")
        print(b"".join(p.detach().numpy().tobytes() for p in net.parameters()).hex())
    """
    assert _run(code.format(seed=0)) == _run(code.format(seed=0))
    assert _run(code.format(seed=0)) != _run(code.format(seed=1))  # the seed decides, not a constant


def test_generator_argument_gives_the_key_on_torch():
    torch = pytest.importorskip("torch")
    init = vscale.HeNormal(seed=2)
    a = init.sample((6,), xp=torch, generator=torch.Generator().manual_seed(11))
    b = init.sample((6,), xp=torch, generator=torch.Generator().manual_seed(11))
    c = init.sample((6,), xp=torch, generator=torch.Generator().manual_seed(12))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(init((6,), xp=torch), vscale.HeNormal(seed=2)((6,), xp=torch))
    with pytest.raises(TypeError, match=r"`generator`"):
        init.sample((6,), xp=torch, generator="nope")


def test_no_collisions_among_many_seeds_and_calls_on_torch():
    """The 32-bit seeding collided after ~2**16 seeds; keys now carry 128 bits."""
    torch = pytest.importorskip("torch")
    seen = set()
    for seed in range(3000):
        init = vscale.VarianceScaling(seed=seed, distribution="uniform")
        for _ in range(3):
            seen.add(init((4,), xp=torch).numpy().tobytes())
    assert len(seen) == 9000


# -- hostile draws ------------------------------------------------------------------------


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("part", ["float32", "float64"])
def test_complex_transform_is_finite_and_bounded_at_every_extreme_draw(distribution, part):
    """Draws next to 1 (where u + eps/4 ties to 1.0) and at 0, for the modulus and the angle."""
    eps = float(np.finfo(part).eps)
    edge = np.array([0.0, eps / 2, 0.5 - eps / 2, 0.5, 1.0 - eps, 1.0 - eps / 2], dtype=part)
    u, v = (a.ravel() for a in np.meshgrid(edge, edge))
    transform = make_complex_transform(distribution, 0.3)
    values = apply_complex(u.copy(), v.copy(), transform, np.complex64 if part == "float32" else np.complex128, xp=np)
    assert np.isfinite(values).all()
    assert np.abs(values.astype(np.complex128)).max() <= transform.bound


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_values_never_leave_their_bound_over_many_draws(distribution, dtype):
    init = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0)
    values = init((1, 2**21), dtype).astype(np.complex128)
    assert np.isfinite(values).all()
    bound = make_complex_transform(distribution, 1.0).bound
    assert np.abs(values).max() <= bound


def test_fork_after_a_threaded_draw_does_not_hang():
    code = """
        import os, vscale
        init = vscale.HeNormal(seed=0)
        init((4096, 4096))                      # threaded
        pid = os.fork()
        if pid == 0:
            init((4096, 4096)); os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """
    assert _run(code, VSCALE_NUM_THREADS="4") == "0"


def test_large_draw_during_interpreter_shutdown():
    code = """
        import atexit, vscale
        def late():
            w = vscale.HeNormal(seed=0)((2048, 4096))
            print(w.shape)
        atexit.register(late)
    """
    assert _run(code, VSCALE_NUM_THREADS="4") == "(2048, 4096)"


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "-2", "0", "abc", " 3 "])
def test_odd_thread_settings_never_break_calls(value, monkeypatch):
    monkeypatch.setenv("VSCALE_NUM_THREADS", value)
    reference = vscale.HeNormal(seed=1)((600, 600))
    monkeypatch.delenv("VSCALE_NUM_THREADS")
    np.testing.assert_array_equal(reference, vscale.HeNormal(seed=1)((600, 600)))


# -- the core is traceable ------------------------------------------------------------------


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_core_transforms_trace_under_jax_jit(distribution):
    """No data-dependent Python branch: the transforms compile as one jitted function."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    from vscale.core import apply, make_transform

    transform = make_transform(distribution, 0.5, 1.0 if distribution == "truncated_normal" else 0.5)
    u = jnp.linspace(0.0, 1.0 - 2.0**-24, 4097, dtype=jnp.float32)
    jitted = jax.jit(lambda x: apply(x, transform, xp=jnp))(u)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(apply(u, transform, xp=jnp)), rtol=4e-6, atol=1e-7)


def test_core_has_no_python_conversions_of_arrays():
    import inspect
    import re

    import vscale.core.complex as complex_
    import vscale.core.erfinv as erfinv
    import vscale.core.transforms as transforms
    import vscale.engine.loop as engine

    for module in (complex_, engine, erfinv, transforms):
        source = inspect.getsource(module)
        assert not re.search(r"\b(bool|int|float)\(xp\.(?!finfo)", source), module.__name__
        assert ".item()" not in source and "xp.any(" not in source and "xp.all(" not in source


@pytest.mark.parametrize("normal", [False, True])
def test_device_block_stream_gives_any_range_alone(normal):
    """The GPU streams' block logic, run with torch's CPU generator in place of a GPU's."""
    torch = pytest.importorskip("torch")
    from vscale.streams import blocks as _blocks
    from vscale.streams.torch import block_filler

    block = 1000
    total = 3 * block + 17
    original = _blocks.LAUNCH_BLOCK
    _blocks.LAUNCH_BLOCK = block
    try:
        stream = _blocks.BlockStream(b"k" * 16, total, block_filler(torch, "cpu"), lambda n: torch.empty(n))
        whole = stream.draw(0, total, normal=normal)
        for start, count in [(0, 5), (999, 2), (1000, 1000), (1500, 1517), (3000, 17)]:
            assert torch.equal(stream.draw(start, count, normal=normal), whole[start : start + count])
        if not normal:
            k = whole.double() * 2.0**24
            assert torch.equal(k, k.floor()) and whole.min() >= 0 and whole.max() < 1
    finally:
        _blocks.LAUNCH_BLOCK = original
    assert _blocks.block_seed(b"k" * 16, 0) != _blocks.block_seed(b"k" * 16, 1)
    assert _blocks.block_seed(b"k" * 16, 0, 16) >= 2**64 or _blocks.block_seed(b"k" * 16, 1, 16) >= 2**64


def test_the_call_takes_only_keras_arguments():
    """``__call__(shape, dtype=None, *, xp=None, device=None)``: nothing engine-specific."""
    import inspect

    parameters = inspect.signature(vscale.VarianceScaling.__call__).parameters
    named = [(p.name, p.kind.name, p.default) for p in parameters.values() if p.kind.name != "VAR_KEYWORD"]
    assert named == [
        ("self", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("shape", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("dtype", "POSITIONAL_OR_KEYWORD", None),
        ("xp", "KEYWORD_ONLY", None),
        ("device", "KEYWORD_ONLY", None),
    ]
    with pytest.raises(TypeError, match="unexpected keyword argument 'chunk'"):
        vscale.HeNormal(seed=0)((2, 2), chunk=3)


@pytest.mark.filterwarnings("default::DeprecationWarning")
@pytest.mark.parametrize("prng", ["native", "threefry"])
def test_the_deprecated_call_keywords_warn_and_give_the_same_values(prng):
    region = (slice(1, 5), slice(None, None, 2))
    with pytest.warns(DeprecationWarning, match=r"region=.*initializer\.sample\(shape"):
        old = vscale.HeNormal(seed=9, prng=prng)((6, 8), region=region)
    np.testing.assert_array_equal(old, vscale.HeNormal(seed=9, prng=prng).sample((6, 8), region=region))
    with pytest.warns(DeprecationWarning, match=r"generator=.*initializer\.sample"):
        old = vscale.HeNormal(seed=9, prng=prng)((6, 8), generator=np.random.default_rng(2))
    init = vscale.HeNormal(seed=9, prng=prng)
    np.testing.assert_array_equal(old, init.sample((6, 8), generator=np.random.default_rng(2)))
    assert init._calls == 0  # a generator's call leaves the sequence alone, as before


@pytest.mark.parametrize(
    ("module", "cls"),
    [("vscale.initializers", "VarianceScaling"), ("vscale.family", "HeNormal"), ("vscale", "HeNormal")],
)
def test_pickles_naming_any_layout_load(module, cls):
    """A pickle names ``vscale.HeNormal``; one made before 0.2 names the module of that layout."""
    init = getattr(vscale, cls)(seed=5, layout="torch")
    init((3,))
    text = pickle.dumps(init, protocol=0)
    assert f"cvscale\n{cls}\n".encode() in text
    loaded = pickle.loads(text.replace(f"cvscale\n{cls}\n".encode(), f"c{module}\n{cls}\n".encode()))
    assert type(loaded) is type(init) and loaded.get_config() == init.get_config()
    np.testing.assert_array_equal(loaded((4, 4)), init((4, 4)))
