"""Lazy Dask arrays: ``vscale.dask.array(init, shape, dtype, chunks=...)`` and ``init(shape, xp="dask")``.

Oracle: the NumPy call of an initializer with the same seed at the same call index.  The
lazy call draws its key once on the client and each block computes its own region of that
call, so the computed array must equal the NumPy call bit for bit for any chunking and any
scheduler: the local ones, and a real ``distributed.LocalCluster`` of worker processes
(tasks pickled to other processes).  The memory checks generate arrays blockwise on that
cluster and reduce them there, and bound the workers' (and the client's) peak memory growth
by a few blocks, far below the array.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time

import numpy as np
import pytest

import vscale
import vscale.dask
from vscale.core.regions import Box
from vscale.engine import lazy as lazy_module

da = pytest.importorskip("dask.array")

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
SHAPE = (37, 23, 5)
#: Chunkings, each with the local scheduler that computes it.
CHUNKINGS = {
    "blocks": ((10, 7, 3), "threads"),
    "irregular": (((1, 20, 16), (23,), (2, 3)), "synchronous"),
    "auto": (None, "synchronous"),
    "rows": ((1, 23, 5), "threads"),
    "columns": ((37, 2, 1), "synchronous"),
}


def _pair(distribution="truncated_normal", prng="threefry", seed=5, **kwargs):
    """Two initializers at the same point of the same sequence of calls."""
    return tuple(vscale.VarianceScaling(2.0, "fan_avg", distribution, seed=seed, prng=prng, **kwargs) for _ in "ab")


def _assert_bits(actual, desired):
    assert isinstance(actual, np.ndarray) and actual.dtype == desired.dtype and actual.shape == desired.shape
    np.testing.assert_array_equal(actual.reshape(-1).view(np.uint8), desired.reshape(-1).view(np.uint8))


# -- the values -----------------------------------------------------------------------------


@pytest.mark.parametrize("chunking", CHUNKINGS, ids=str)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64"])
@pytest.mark.parametrize("prng", ["threefry", "native"])
def test_lazy_call_is_the_numpy_call_bit_for_bit(prng, dtype, distribution, chunking):
    chunks, scheduler = CHUNKINGS[chunking]
    lazy_init, numpy_init = _pair(distribution, prng)
    for init in (lazy_init, numpy_init):
        init((3,))  # call 1 below, not the seed's first call
    lazy = vscale.dask.array(lazy_init, SHAPE, dtype, chunks=chunks)
    assert isinstance(lazy, da.Array)
    assert lazy.shape == SHAPE and lazy.dtype == np.dtype(dtype)
    if chunks is not None:
        assert lazy.numblocks != (1, 1, 1)
    _assert_bits(lazy.compute(scheduler=scheduler), numpy_init(SHAPE, dtype))


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_other_dtypes_and_a_long_axis(dtype):
    lazy_init, numpy_init = _pair("uniform", "native")
    lazy = vscale.dask.array(lazy_init, (3000, 7), dtype, chunks=(999, 4))
    _assert_bits(lazy.compute(scheduler="threads"), numpy_init((3000, 7), dtype))


@pytest.mark.parametrize("xp", ["dask", "dask.array", "array_api_compat.dask.array"])
def test_each_way_of_naming_dask(xp):
    module = xp if xp == "dask" else pytest.importorskip(xp)
    lazy_init, numpy_init = _pair()
    lazy = lazy_init((12, 8), "float32", xp=module)
    assert type(lazy) is da.Array
    assert lazy.chunks == da.core.normalize_chunks("auto", (12, 8), dtype=np.float32)
    _assert_bits(lazy.compute(scheduler="synchronous"), numpy_init((12, 8), "float32"))


def test_auto_chunks_follow_dask_and_the_lazy_array_is_named_by_its_call():
    init = vscale.HeNormal(seed=0, prng="threefry")
    first, second = init((8192, 8192), xp="dask"), init((8192, 8192), xp="dask")
    assert first.chunks == da.core.normalize_chunks("auto", (8192, 8192), dtype=np.float32)
    assert first.name.startswith("vscale-") and first.name != second.name  # two calls, two keys
    again = vscale.HeNormal(seed=0, prng="threefry")((8192, 8192), xp="dask")
    assert again.name == first.name  # the same call: the same graph


def test_the_lazy_call_is_exactly_one_call():
    lazy_init, numpy_init = _pair("uniform", "native")
    lazy = vscale.dask.array(lazy_init, (20, 6), chunks=(7, 6))
    first = numpy_init((20, 6))
    _assert_bits(lazy.compute(scheduler="synchronous"), first)
    _assert_bits(lazy.compute(scheduler="threads"), first)  # computing again: the same values
    # Neither making nor computing the lazy array advanced the sequence beyond one call.
    _assert_bits(lazy_init((20, 6)), numpy_init((20, 6)))


def test_a_slice_of_the_lazy_array_computes_only_its_blocks(monkeypatch):
    lazy_init, numpy_init = _pair()
    lazy = vscale.dask.array(lazy_init, (100, 10), chunks=(10, 10))
    regions = []
    block_plan = lazy_module._block_plan

    def spy(*args):
        regions.append(args[-1])
        return block_plan(*args)

    monkeypatch.setattr(lazy_module, "_block_plan", spy)
    piece = lazy[21:29:2].compute(scheduler="synchronous")
    assert regions == [Box((20, 0), (1, 1), (10, 10))]  # only the block of rows 20..29, alone
    monkeypatch.undo()
    _assert_bits(piece, numpy_init((100, 10))[21:29:2])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_axes": (0,), "output_axes": (1, 2)},
        {"layout": "torch", "groups": 2},
        {"mode": "fan_out"},
    ],
    ids=str,
)
def test_fans_and_layouts_reach_the_blocks(kwargs):
    mode = kwargs.pop("mode", "fan_avg")
    lazy_init, numpy_init = (vscale.VarianceScaling(2.0, mode, "uniform", seed=3, **kwargs) for _ in "ab")
    lazy = vscale.dask.array(lazy_init, (6, 4, 10), chunks=(4, 3, 3))
    _assert_bits(lazy.compute(scheduler="synchronous"), numpy_init((6, 4, 10)))


def test_unseeded_calls_and_generators_draw_the_key_on_the_client():
    np.random.seed(4)
    lazy = vscale.dask.array(vscale.HeUniform(), (9, 9), chunks=4)
    np.random.seed(4)
    _assert_bits(lazy.compute(scheduler="synchronous"), vscale.HeUniform()((9, 9)))
    np.random.seed(5)
    assert not np.array_equal(lazy.compute(scheduler="synchronous"), vscale.HeUniform()((9, 9)))
    init = vscale.HeUniform(seed=1)
    from_rng = vscale.dask.array(init, (9, 9), chunks=4, generator=np.random.default_rng(8))
    _assert_bits(from_rng.compute(scheduler="threads"), init.sample((9, 9), generator=np.random.default_rng(8)))
    _assert_bits(init((2,)), vscale.HeUniform(seed=1)((2,)))  # generator= calls do not advance


def test_a_jax_key_is_the_calls_threefry_key():
    jax = pytest.importorskip("jax")
    key = jax.random.fold_in(jax.random.key(42), 3)
    init = vscale.HeUniform(prng="threefry")
    lazy = vscale.dask.array(init, (16, 8), chunks=(5, 3), generator=key)
    jax_values = jax.nn.initializers.he_uniform()(key, (16, 8), jax.numpy.float32)
    _assert_bits(lazy.compute(scheduler="synchronous"), np.asarray(jax_values))


@pytest.mark.parametrize("shape", [(), (0, 5), (4, 0)], ids=str)
def test_empty_and_scalar_shapes(shape):
    lazy_init, numpy_init = _pair()
    lazy = lazy_init(shape, xp="dask")
    assert lazy.shape == shape
    _assert_bits(np.asarray(lazy.compute(scheduler="synchronous")), numpy_init(shape))


def test_the_lazy_array_pickles_with_plain_data():
    lazy_init, numpy_init = _pair("truncated_normal", "native")
    lazy = vscale.dask.array(lazy_init, (30, 30), "float64", chunks=(11, 13))
    blob = pickle.dumps(lazy)  # the standard pickler: module-level task functions, plain arguments
    assert b"_lock" not in blob and b"VarianceScaling" not in blob
    _assert_bits(pickle.loads(blob).compute(scheduler="synchronous"), numpy_init((30, 30), "float64"))


def test_cupy_blocks_are_the_numpy_values():
    cupy = pytest.importorskip("cupy")
    try:
        cupy.zeros(1)
    except Exception as error:  # no driver or no device
        pytest.skip(f"CuPy has no usable GPU ({type(error).__name__})")
    lazy_init, numpy_init = _pair()
    lazy = vscale.dask.array(lazy_init, (40, 24), chunks=(16, 10), block_xp="cupy")
    assert isinstance(lazy._meta, cupy.ndarray)
    result = lazy.compute(scheduler="synchronous")
    assert isinstance(result, cupy.ndarray)
    _assert_bits(cupy.asnumpy(result), numpy_init((40, 24)))


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"chunks": ((3, 3),)}, ValueError, r"`chunks` does not fit the shape \(8, 8\)"),
        ({"chunks": "nonsense"}, ValueError, r"`chunks` does not fit.*chunks='nonsense'"),
        ({"block_xp": "torch"}, ValueError, r"`block_xp` must be None, 'numpy', 'cupy'.*'torch'"),
        ({"block_xp": 3}, ValueError, r"`block_xp` must be.*block_xp=3"),
        ({"block_xp": np.random}, ValueError, r"`block_xp` must be.*numpy.random"),
        ({"block_xp": "cupy"}, ValueError, r"`block_xp`='cupy' needs prng=\"threefry\""),
        ({"dtype": "int32"}, ValueError, r"floating point or complex type for argument `dtype`"),
        ({"chunks": 0}, ValueError, r"`chunks` has a block size of 0.*chunks=0"),
        ({"chunks": (0, 8)}, ValueError, r"`chunks` has a block size of 0.*chunks=\(0, 8\)"),
        ({"chunks": {0: 0}}, ValueError, r"`chunks` has a block size of 0.*chunks=\{0: 0\}"),
        ({"chunks": -2}, ValueError, r"`chunks` has the block size -2; block sizes must be positive.*chunks=-2"),
        ({"chunks": 2.5}, ValueError, r"`chunks` has the block size 2.5;.*chunks=2.5"),
        ({"chunks": 4.0}, ValueError, r"`chunks` has the block size 4.0;.*chunks=4.0"),
        ({"chunks": float("nan")}, ValueError, r"`chunks` has the block size nan;"),
        ({"chunks": True}, ValueError, r"`chunks` has the block size True;"),
        ({"chunks": (4, -3)}, ValueError, r"`chunks` has the block size -3;.*chunks=\(4, -3\)"),
        ({"chunks": {1: -5}}, ValueError, r"`chunks` has the block size -5;.*chunks=\{1: -5\}"),
        ({"chunks": ((4, -4), (8,))}, ValueError, r"`chunks` has the block size -4;"),
        ({"chunks": (np.float32(4), 8)}, ValueError, r"`chunks` has the block size"),
        ({"chunks": np.array([4, -8])}, ValueError, r"`chunks` has the block size -8;"),
        ({"chunks": ((3, 3, 3), (8,))}, ValueError, r"`chunks` does not fit"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_refusals_name_the_argument(kwargs, error, match):
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    init = vscale.HeNormal(seed=2)
    with pytest.raises(error, match=match):
        vscale.dask.array(init, (8, 8), dtype, **kwargs)
    _assert_bits(init((2,)), vscale.HeNormal(seed=2)((2,)))  # a refused call draws no key


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"xp": "dask", "device": "cpu"}, ValueError, r"`device` is not supported with a Dask `xp`.*device='cpu'"),
        ({"xp": "dask", "region": (slice(2),)}, ValueError, r"`region` cannot be combined with a Dask `xp`"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_call_and_sample_refuse_what_a_dask_xp_cannot_do(kwargs, error, match):
    init = vscale.HeNormal(seed=2)
    with pytest.raises(error, match=match):
        init.sample((8, 8), **kwargs)
    with pytest.raises(ValueError, match=r"`device` is not supported"):
        init((8, 8), xp="dask", device="cpu")
    _assert_bits(init((2,)), vscale.HeNormal(seed=2)((2,)))


@pytest.mark.filterwarnings("default::DeprecationWarning")
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"chunks": 4}, TypeError, r"`chunks` is only valid with a Dask `xp`.*chunks=4 with xp=None"),
        ({"chunks": 4, "xp": "numpy"}, TypeError, r"`chunks` is only valid with a Dask `xp`.*xp='numpy'"),
        ({"block_xp": "numpy"}, TypeError, r"`block_xp` is only valid with a Dask `xp`"),
        ({"xp": "dask", "chunks": "nonsense"}, ValueError, r"`chunks` does not fit.*chunks='nonsense'"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_the_deprecated_call_keywords_still_refuse_by_name(kwargs, error, match):
    init = vscale.HeNormal(seed=2)
    with pytest.warns(DeprecationWarning, match="vscale.dask.array"), pytest.raises(error, match=match):
        init((8, 8), **kwargs)
    _assert_bits(init((2,)), vscale.HeNormal(seed=2)((2,)))


@pytest.mark.filterwarnings("default::DeprecationWarning")
def test_the_deprecated_chunks_keyword_gives_the_same_lazy_array():
    with pytest.warns(DeprecationWarning, match=r"chunks=.*vscale\.dask\.array\(initializer, shape"):
        old = vscale.HeNormal(seed=4)((20, 6), "float64", xp="dask", chunks=(7, 6))
    new = vscale.dask.array(vscale.HeNormal(seed=4), (20, 6), "float64", chunks=(7, 6))
    assert old.chunks == new.chunks and old.name == new.name
    _assert_bits(old.compute(scheduler="synchronous"), new.compute(scheduler="synchronous"))


def test_values_the_dtype_cannot_hold_are_refused_before_the_key():
    init = vscale.VarianceScaling(1e12, seed=2)
    with pytest.raises(ValueError, match="beyond the largest float16"):
        init((8, 8), "float16", xp="dask")
    assert init._calls == 0


# -- a real cluster of worker processes -----------------------------------------------------


distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2)
        yield client


@pytest.mark.parametrize(
    ("prng", "dtype", "distribution", "chunks"),
    [
        ("threefry", "float32", "truncated_normal", (64, 50)),
        ("threefry", "complex64", "untruncated_normal", (100, 33)),
        ("native", "float64", "uniform", (17, 200)),
        ("native", "float32", "truncated_normal", (300, 1)),
    ],
)
def test_worker_processes_compute_the_numpy_call(client, prng, dtype, distribution, chunks):
    lazy_init, numpy_init = _pair(distribution, prng)
    lazy = vscale.dask.array(lazy_init, (300, 200), dtype, chunks=chunks)
    blocks = client.compute(lazy.to_delayed().ravel().tolist())
    distributed.wait(blocks)
    workers = {next(iter(who)) for who in client.who_has(blocks).values()}
    assert len(workers) == 2  # both processes made blocks
    _assert_bits(client.compute(lazy).result(), numpy_init((300, 200), dtype))
    _assert_bits(lazy_init((2,)), numpy_init((2,)))


def _memory(pid):
    """``(resident, peak resident since the last reset)`` of process ``pid`` in bytes (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def _reset_peak(pid):
    """Restart the kernel's peak-resident count of ``pid`` from its present size (Linux >= 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError as error:
        pytest.skip(f"cannot reset the peak memory of a process here ({error})")


def _blockwise_std(client, shape, chunks, prng="native"):
    """Generate ``shape`` float32 blockwise on the cluster and reduce it to its deviation there.

    Returns the deviation, the expected one, the block size in bytes, the largest growth
    of a worker's peak memory over its size before, the client's, and the seconds taken.
    """
    init = vscale.HeNormal(seed=11, prng=prng)
    warm = vscale.dask.array(init, (4096, 256), chunks=(512, 256))  # imports, thread pools, plans on the workers
    client.compute(warm.std()).result()
    workers = list(client.run(os.getpid).values())
    before = {}
    for pid in [*workers, os.getpid()]:
        _reset_peak(pid)
        before[pid] = _memory(pid)[0]
    start = time.perf_counter()
    lazy = vscale.dask.array(init, shape, "float32", chunks=chunks)
    std = float(client.compute(lazy.std()).result())
    seconds = time.perf_counter() - start
    growth = {pid: _memory(pid)[1] - size for pid, size in before.items()}
    block = math.prod(lazy.chunksize) * 4
    worker_growth = max(growth[pid] for pid in workers)
    return std, init.parameters(shape).stddev, block, worker_growth, growth[os.getpid()], seconds


def _check_blockwise(client, shape, chunks):
    if not sys.platform.startswith("linux"):
        pytest.skip("peak memory is read from /proc")
    std, expected, block, growth, client_growth, seconds = _blockwise_std(client, shape, chunks)
    count = math.prod(shape)
    print(
        f"\n{count * 4 / 2**30:.2f} GiB in blocks of {block / 2**20:.0f} MiB: {seconds:.1f} s, "
        f"worker peak growth {growth / 2**20:.0f} MiB, client {client_growth / 2**20:.0f} MiB"
    )
    # The sample deviation of `count` values has a relative standard error of about
    # 1/sqrt(2 count) (the truncated normal's kurtosis is below the normal's).
    assert abs(std / expected - 1) < 6 / math.sqrt(2 * count) + 1e-6
    # A worker holds a block and the reduction's temporaries, never its share of the array:
    # measured, 5 blocks (the block, and 4 for Dask's moment_chunk, whose float64
    # temporaries are twice the float32 block; a sum needs the block alone).
    assert growth < 7 * block < count * 4 / 2
    assert client_growth < 2 * block


def test_blockwise_generation_on_the_cluster_stays_within_a_few_blocks(client):
    _check_blockwise(client, (8192, 8192), (256, 8192))  # 256 MiB in 32 blocks of 8 MiB


@pytest.mark.slow
def test_two_gib_blockwise_on_the_cluster_stays_within_a_few_blocks(client):
    _check_blockwise(client, (32768, 16384), (1024, 16384))  # 2 GiB in 32 blocks of 64 MiB


def test_minus_one_and_empty_dimensions_are_dasks_chunks():
    init = vscale.HeNormal(seed=0)
    assert vscale.dask.array(init, (10, 300), chunks=-1).chunks == ((10,), (300,))
    assert vscale.dask.array(init, (0, 300), chunks=(0, 100)).chunks == ((0,), (100, 100, 100))
    assert vscale.dask.array(init, (10, 300), chunks=(np.int64(5), -1)).chunks == ((5, 5), (300,))
    assert vscale.dask.array(init, (10, 300), chunks={0: -1, 1: 150}).chunks == ((10,), (150, 150))
    assert vscale.dask.array(init, (10, 300), chunks=np.array([5, 100])).chunks == ((5, 5), (100, 100, 100))
