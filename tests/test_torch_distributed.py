"""torch.distributed: DTensor shards, manual pieces and the FSDP2 meta-device recipe, each
gathered across real gloo processes and compared bit for bit with one process.

Each world size is launched once (tests/_distributed_workers.py, one process per rank on
127.0.0.1); the tests below read what its ranks wrote.  Worlds of 2 and 3 processes run by
default; 1 and 4 (a 2x2 mesh) are ``slow``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vscale

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip(
        "torch.distributed with the gloo backend is not available in this build of torch", allow_module_level=True
    )
pytest.importorskip("torch.distributed.tensor", reason="DTensor (torch.distributed.tensor) needs torch >= 2.4")
pytest.importorskip("torch.distributed.fsdp", reason="FSDP2 needs torch.distributed.fsdp")
if not hasattr(sys.modules["torch.distributed.fsdp"], "fully_shard"):
    pytest.skip("FSDP2 (torch.distributed.fsdp.fully_shard) needs torch >= 2.6", allow_module_level=True)

import vscale.torch as vtorch  # noqa: E402
from tests import _distributed_workers as workers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORLDS = [pytest.param(1, marks=pytest.mark.slow), 2, 3, pytest.param(4, marks=pytest.mark.slow)]
TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(world: int, outdir: Path) -> None:
    """Run one process per rank until all exit; fail with their logs if one does not succeed."""
    for attempt in range(2):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
        env.update(WORLD_SIZE=str(world), OMP_NUM_THREADS="1")
        logs = [outdir / f"log{rank}.txt" for rank in range(world)]
        processes = []
        for rank in range(world):
            with open(logs[rank], "w") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "tests._distributed_workers", str(outdir)],
                        cwd=ROOT,
                        env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + TIMEOUT_S
        try:
            codes = [process.wait(timeout=max(1.0, deadline - time.monotonic())) for process in processes]
        except subprocess.TimeoutExpired:
            codes = None
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        text = "\n".join(f"--- rank {rank} ---\n{log.read_text()[-4000:]}" for rank, log in enumerate(logs))
        if codes is not None and not any(codes):
            return
        if attempt == 0 and "address already in use" in text.lower():
            continue  # another process took the free port between the probe and the bind
        what = f"timed out after {TIMEOUT_S} s" if codes is None else f"exited with {codes}"
        pytest.fail(f"The world of {world} processes {what}:\n{text}")


class Run:
    """What the ranks of one world wrote: ``gathered`` (rank 0), ``ranks[r]`` and ``errors[r]``."""

    def __init__(self, world: int, outdir: Path) -> None:
        with np.load(outdir / "gathered.npz") as data:
            self.gathered = dict(data)
        self.ranks = []
        self.errors = []
        for rank in range(world):
            with np.load(outdir / f"rank{rank}.npz") as data:
                self.ranks.append(dict(data))
            self.errors.append(json.loads((outdir / f"rank{rank}.json").read_text()))


@pytest.fixture(scope="module")
def launched(tmp_path_factory: Any) -> Any:
    runs: dict[int, Run] = {}

    def get(world: int) -> Run:
        if world not in runs:
            outdir = tmp_path_factory.mktemp(f"world{world}")
            _launch(world, outdir)
            runs[world] = Run(world, outdir)
        return runs[world]

    return get


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    return workers.references()


def test_references_are_not_degenerate(reference):
    """The comparisons below can fail: consecutive calls, seeds and streams all differ."""
    for shape in workers.SHAPES:
        for init in workers.INITIALIZERS:
            assert not np.array_equal(reference[f"{shape}-{init}/0"], reference[f"{shape}-{init}/1"])
            assert np.all(reference[f"{shape}-{init}/0"] != 0)
        assert not np.array_equal(reference[f"{shape}-threefry/0"], reference[f"{shape}-native/0"])
    assert not np.array_equal(reference["fresh-uneven/0"], reference["fresh-uneven/1"])
    # Rows of the threefry tensor differ, so a shard put in the wrong place shows.
    rows = reference["rows-threefry/0"]
    assert len({row.tobytes() for row in rows}) == len(rows)


@pytest.mark.parametrize("world", WORLDS)
def test_dtensor_shards_gather_to_the_single_process_tensor(world, launched, reference):
    """Shard(0), Shard(1), Replicate, 2-D meshes, uneven and empty shards; threefry and the
    native CPU stream; two calls each: the gathered tensors are the single-process ones."""
    run = launched(world)
    checked, wrong = 0, []
    for mesh, placements in workers.layouts(world):
        for shape in workers.SHAPES:
            for init in workers.INITIALIZERS:
                for call in (0, 1):
                    got = run.gathered[f"{workers.case_name(shape, init, mesh, placements)}/{call}"]
                    want = reference[f"{shape}-{init}/{call}"]
                    checked += 1
                    if got.dtype != want.dtype or not np.array_equal(got, want):
                        wrong.append(f"{workers.case_name(shape, init, mesh, placements)} call {call}")
    assert checked == len(workers.layouts(world)) * len(workers.SHAPES) * len(workers.INITIALIZERS) * 2
    assert not wrong, f"{len(wrong)} of {checked} gathered tensors differ from one process: {wrong}"


@pytest.mark.parametrize("world", WORLDS)
def test_replicated_dtensor_is_whole_on_every_rank(world, launched, reference):
    run = launched(world)
    for rank in range(world):
        for shape in workers.SHAPES:
            for init in workers.INITIALIZERS:
                for call in (0, 1):
                    name = f"{workers.case_name(shape, init, (world,), ('R',))}/{call}"
                    assert np.array_equal(run.ranks[rank][name], reference[f"{shape}-{init}/{call}"]), (rank, name)


@pytest.mark.parametrize("world", WORLDS)
def test_a_shard_filled_as_a_whole_tensor_repeats_the_first_shard(world, launched, reference):
    """The counterexample: each rank filling its local tensor alone gets the positions of
    the first shard, so the gathered tensor is the first shard repeated, not the tensor."""
    naive = launched(world).gathered["naive"]
    whole = reference["rows-threefry/0"]
    rows = whole.shape[0] // world
    assert np.array_equal(naive, np.concatenate([whole[:rows]] * world))
    assert np.array_equal(naive, whole) == (world == 1)


@pytest.mark.parametrize("world", WORLDS)
def test_helpers_on_dtensors_follow_torch_manual_seed(world, launched, reference):
    run = launched(world)
    for name in ("helper_he_uniform", "helper_glorot_normal_threefry", *workers.DISTRIBUTION_HELPERS):
        assert np.array_equal(run.gathered[name], reference[name]), name


@pytest.mark.parametrize("world", WORLDS)
def test_manual_pieces_tile_the_tensor(world, launched, reference):
    """fill_shard_ with torch.chunk's uneven pieces (offsets, then a region) on every rank."""
    run = launched(world)
    for key, dim in (("manual_rows", 0), ("manual_cols", 1)):
        for call in (0, 1):
            pieces = [run.ranks[rank][f"{key}/{call}"] for rank in range(world)]
            chunks = [len(chunk) for chunk in torch.arange(workers.SHAPES["uneven"][dim]).chunk(world)]
            assert [piece.shape[dim] for piece in pieces] == chunks + [0] * (world - len(chunks))
            assert np.array_equal(np.concatenate(pieces, axis=dim), reference[f"fresh-uneven/{call}"]), (key, call)


@pytest.mark.parametrize("world", WORLDS)
def test_a_rank_outside_the_mesh_stays_at_the_same_call(world, launched, reference):
    run = launched(world)
    assert np.array_equal(run.gathered["submesh/0"], reference["fresh-uneven/0"])
    assert np.array_equal(run.gathered["submesh/1"], reference["fresh-uneven/1"])


@pytest.mark.parametrize("world", WORLDS)
def test_refusals_name_the_placement_and_write_nothing(world, launched):
    run = launched(world)
    for rank in range(world):
        errors = run.errors[rank]
        assert "Partial(sum)" in errors["partial"] and "Argument `tensor`" in errors["partial"]
        assert "_StridedShard" in errors["strided"] and "only Shard(dim) and Replicate()" in errors["strided"]
        assert "pass neither `shape`" in errors["dtensor_with_shape"]
        assert "'1.weight'" in errors["init_module_partial"] and "Nothing was written" in errors["init_module_partial"]
        assert np.all(run.ranks[rank]["init_module_partial_untouched"] == 2.0)
        for name in workers.FSDP_NAMES:
            assert "'meta' device" in errors[f"{name}_meta"] and "Nothing was written" in errors[f"{name}_meta"]


@pytest.mark.parametrize("name", list(workers.FSDP_NAMES))
@pytest.mark.parametrize("world", WORLDS)
def test_fsdp2_meta_device_recipe_gives_the_single_process_model(world, name, launched, reference):
    """meta device -> fully_shard -> to_empty -> init_module: every gathered parameter, and
    the forward pass (which all-gathers FSDP2's own storage), equal the unsharded model's."""
    run = launched(world)
    names = workers.FSDP_NAMES[name] or list(reference[f"{name}/names"])
    assert list(run.gathered[f"{name}/names"]) == names == list(reference[f"{name}/names"])
    params = [
        key.split("/", 1)[1]
        for key in reference
        if key.startswith(f"{name}/") and key.rsplit("/", 1)[1] not in ("output", "names")
    ]
    assert len(params) == 7
    for param in params:
        assert np.array_equal(run.gathered[f"{name}/{param}"], reference[f"{name}/{param}"]), param
        for rank in range(world):
            assert str(run.ranks[rank][f"{name}/{param}/placements"]) == "(Shard(dim=0),)"
    assert np.all(run.gathered[f"{name}/embedding.weight"][7] == 0)
    assert np.array_equal(run.gathered[f"{name}/output"], reference[f"{name}/output"])


# Single-process checks of fill_shard_'s arguments.


def test_fill_shard_pieces_are_slices_of_the_whole():
    whole = vscale.GlorotNormal(seed=2, prng="threefry").fill_(torch.empty(6, 10))
    init = vscale.GlorotNormal(seed=2, prng="threefry")
    piece = torch.empty(10, 4).t()  # a non-contiguous (4, 10) view
    assert vtorch.fill_shard_(piece, init, (6, 10), torch.Size([2, 0])) is piece
    assert torch.equal(piece, whole[2:6])
    # A region with steps; the next call of the same initializer.
    second = vscale.GlorotNormal(seed=2, prng="threefry")
    _ = second.fill_(torch.empty(6, 10))
    nxt = second.fill_(torch.empty(6, 10))
    piece = torch.empty(3, 5)
    vtorch.fill_shard_(piece, init, (6, 10), region=(slice(0, 6, 2), slice(1, 10, 2)))
    assert torch.equal(piece, nxt[0:6:2, 1:10:2])


def test_fill_shard_reads_the_fans_of_the_global_shape():
    init = vscale.VarianceScaling(1.0, "fan_in", "uniform", seed=0, prng="threefry")
    piece = vtorch.fill_shard_(torch.empty(50, 2), init, (50, 800), (0, 0))
    # torch layout (out, in): fan_in 800, limit sqrt(3/800) = 0.061; the piece's own fan_in 2 gives 1.22.
    assert float(piece.abs().max()) <= (3 / 800) ** 0.5


def test_fill_shard_native_cpu_stream_gives_the_same_pieces():
    whole = vscale.HeUniform(seed=9).fill_(torch.empty(5, 7, dtype=torch.float64))
    piece = vtorch.fill_shard_(torch.empty(5, 3, dtype=torch.float64), "he_uniform", (5, 7), (0, 4))
    assert piece.dtype == torch.float64 and not torch.equal(piece, whole[:, 4:])  # unseeded: another key
    piece = vtorch.fill_shard_(torch.empty(5, 3, dtype=torch.float64), vscale.HeUniform(seed=9), (5, 7), (0, 4))
    assert torch.equal(piece, whole[:, 4:])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, r"`shape` \(the global shape\) is required"),
        ({"shape": (6, 4)}, ValueError, "exactly one of `offsets` and `region`"),
        ({"shape": (6, 4), "offsets": (0, 0), "region": (slice(0, 3),)}, ValueError, "exactly one of"),
        ({"shape": (6, 4), "offsets": (4, 0)}, ValueError, r"outside the global shape \(6, 4\).*offsets=\(4, 0\)"),
        ({"shape": (6, 4), "offsets": (-1, 0)}, ValueError, "outside the global shape"),
        ({"shape": (6, 4), "offsets": (0,)}, ValueError, r"one offset per dimension.*offsets=\(0,\)"),
        ({"shape": (6, 4), "offsets": (0.0, 0)}, TypeError, "sequence of integers"),
        ({"shape": (6, 4), "offsets": (True, 0)}, TypeError, "sequence of integers"),
        ({"shape": (6, 4), "offsets": 3}, TypeError, "sequence of integers"),
        ({"shape": (6, 4), "region": (slice(0, 2),)}, ValueError, r"region's shape is \(2, 4\)"),
    ],
)
def test_fill_shard_refuses_bad_placement_arguments(kwargs, error, match):
    piece = torch.full((3, 4), 5.0)
    with pytest.raises(error, match=match):
        vtorch.fill_shard_(piece, vscale.HeNormal(seed=0, prng="threefry"), **kwargs)
    assert torch.all(piece == 5.0)


def test_fill_shard_refuses_what_fill_refuses():
    with pytest.raises(TypeError, match="Argument `array` must be an array"):
        vtorch.fill_shard_([1.0, 2.0], vscale.HeNormal(seed=0), (4,), (0,))
    with pytest.raises(TypeError, match="Argument `initializer`"):
        vtorch.fill_shard_(torch.empty(2), None, (4,), (0,))
    with pytest.raises(ValueError, match="'meta' device"):
        vtorch.fill_shard_(torch.empty(2, 4, device="meta"), vscale.HeNormal(seed=0), (4, 4), (0, 0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_piece_needs_the_portable_stream():
    piece = torch.empty(3, 4, device="cuda")
    with pytest.raises(ValueError, match='prng="threefry"'):
        vtorch.fill_shard_(piece, vscale.HeNormal(seed=0), (6, 4), (3, 0))
    whole = vscale.HeNormal(seed=0, prng="threefry").fill_(torch.empty(6, 4))
    vtorch.fill_shard_(piece, vscale.HeNormal(seed=0, prng="threefry"), (6, 4), (3, 0))
    assert torch.equal(piece.cpu(), whole[3:])
