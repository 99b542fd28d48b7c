"""The processes of tests/test_torch_distributed.py, and the single-process references they
are compared with.

``python -m tests._distributed_workers OUTDIR`` is one rank of a gloo process group (the
environment gives ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK`` and ``WORLD_SIZE``, as
``torchrun`` does).  Every rank fills DTensors and plain pieces, rank 0 writes the gathered
tensors to ``OUTDIR/gathered.npz``, and every rank writes what it holds alone (replicated
tensors, manual pieces) to ``OUTDIR/rank{r}.npz`` and the errors it met to
``OUTDIR/rank{r}.json``.  The parent compares them with :func:`references`, computed here in
one process without torch.distributed.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import warnings
from typing import Any

import numpy as np
import pytest

import vscale

# pytest collects this module for doctests: without torch, it is skipped, not an error.
pytest.importorskip("torch")
import torch  # noqa: E402

import vscale.torch  # noqa: E402

#: Global shapes of the DTensor cases, filled in this order: even and uneven rows, fewer rows
#: than ranks (an empty shard on rank 2 of 3), columns, and a convolution weight.
SHAPES: dict[str, tuple[int, ...]] = {
    "rows": (12, 5),
    "uneven": (7, 5),
    "tiny": (2, 3),
    "cols": (5, 12),
    "conv": (4, 7, 3, 3),
}

#: Initializers of the DTensor cases: the portable stream, and the native CPU stream (which
#: seeks, so its shards are identical too).
INITIALIZERS = {
    "threefry": lambda: vscale.HeNormal(seed=3, prng="threefry"),
    "native": lambda: vscale.GlorotUniform(seed=4),
}

#: Placements on a 1-D mesh of every rank, and on the 2-D meshes of :func:`meshes_2d`.
PLACEMENTS_1D = (("S0",), ("S1",), ("R",))
PLACEMENTS_2D = (("S0", "S1"), ("S1", "S0"), ("S0", "S0"), ("R", "S1"))

#: Seed of ``torch.manual_seed`` before the unseeded helper calls, on every rank.
TORCH_SEED = 11


def meshes_2d(world: int) -> list[tuple[int, int]]:
    """The 2-D mesh shapes of a world: every factorization (``(2, 1)`` and ``(1, 2)`` for 2)."""
    return [(a, world // a) for a in range(1, world + 1) if world % a == 0 and world > 1]


def layouts(world: int) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
    """``(mesh shape, placements)`` of every DTensor case of a world."""
    cases: list[tuple[tuple[int, ...], tuple[str, ...]]] = [((world,), p) for p in PLACEMENTS_1D]
    cases += [(mesh, p) for mesh in meshes_2d(world) for p in PLACEMENTS_2D]
    return cases


def case_name(shape: str, init: str, mesh: tuple[int, ...], placements: tuple[str, ...]) -> str:
    return f"{shape}-{init}-{'x'.join(map(str, mesh))}-{','.join(placements)}"


class Net(torch.nn.Module):
    """A small model of every kind of layer init_module fills: FSDP2 shards each parameter
    on its dimension 0 (the embedding's padding row 7 lies in the last rank's shard)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(10, 6, padding_idx=7)
        self.conv = torch.nn.Conv1d(6, 4, 3)
        self.fc1 = torch.nn.Linear(12, 7)
        self.fc2 = torch.nn.Linear(7, 3)

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        x = self.embedding(index).transpose(1, 2)  # (batch, 6, 5)
        x = torch.relu(self.conv(x)).flatten(1)  # (batch, 12)
        return self.fc2(torch.relu(self.fc1(x)))


#: Input of the forward pass of :class:`Net` (contains the padding index 7).
NET_INPUT = [[1, 7, 3, 9, 0], [7, 7, 2, 5, 8]]


#: torch.nn.init's distributions with their own parameters, unseeded (after torch.manual_seed),
#: on DTensors sharded by rows (native streams) or columns (portable).
DISTRIBUTION_HELPERS: dict[str, tuple[tuple[int, ...], Any]] = {
    "helper_trunc_normal": ((9, 4), lambda t: vscale.torch.trunc_normal_(t, 0.5, 2.0, -1.0, 6.0)),
    "helper_normal_threefry": ((6, 7), lambda t: vscale.torch.normal_(t, 1.0, 0.1, prng="threefry")),
    "helper_uniform": ((7, 3), lambda t: vscale.torch.uniform_(t, -3.0, -1.0)),
    "helper_trunc_normal_tail_threefry": (
        (4, 9),
        lambda t: vscale.torch.trunc_normal_(t, a=8.0, b=9.0, prng="threefry"),
    ),
}


def fsdp_initializers() -> dict[str, tuple[Any, Any, Any]]:
    """The init_module runs of the FSDP2 cases: (initializer, bias rule, rules).  The rules'
    callables draw from torch's default generator, seeded alike before each run."""
    rules = {
        "fc2.*": functools.partial(vscale.torch.normal_, std=0.05, prng="threefry"),
        torch.nn.Embedding: functools.partial(vscale.torch.trunc_normal_, std=0.5, a=0.0, b=2.0),
        torch.nn.Conv1d: vscale.LecunUniform(seed=8, prng="threefry"),
    }
    return {
        "fsdp_threefry": (vscale.HeNormal(seed=5, prng="threefry"), "torch", None),
        "fsdp_native": (vscale.GlorotUniform(seed=6), "zeros", None),
        "fsdp_rules": (vscale.HeNormal(seed=7, prng="threefry"), "torch", rules),
    }


#: The weights each FSDP2 case names as filled (rules list what they fill, biases included).
FSDP_NAMES = {
    "fsdp_threefry": ["embedding.weight", "conv.weight", "fc1.weight", "fc2.weight"],
    "fsdp_native": ["embedding.weight", "conv.weight", "fc1.weight", "fc2.weight"],
    "fsdp_rules": None,  # read from the single-process run (references)
}


def references() -> dict[str, np.ndarray]:
    """Every tensor the workers gather, computed in one process without torch.distributed."""
    out: dict[str, np.ndarray] = {}
    for init_name, make in INITIALIZERS.items():
        init = make()  # one sequence of calls through every shape, two calls each
        for shape_name, shape in SHAPES.items():
            for call in (0, 1):
                out[f"{shape_name}-{init_name}/{call}"] = init.fill_(torch.empty(shape)).numpy()
    init = INITIALIZERS["threefry"]()  # the first two calls of a new one: manual pieces, submesh
    for call in (0, 1):
        out[f"fresh-uneven/{call}"] = init.fill_(torch.empty(SHAPES["uneven"])).numpy()
    torch.manual_seed(TORCH_SEED)
    for name, shape in (("helper_he_uniform", (7, 5)), ("helper_glorot_normal_threefry", (5, 7))):
        tensor = torch.empty(shape)
        if name == "helper_he_uniform":
            vscale.torch.he_uniform_(tensor)
        else:
            vscale.torch.glorot_normal_(tensor, prng="threefry")
        out[name] = tensor.numpy()
    for name, (shape, fill) in DISTRIBUTION_HELPERS.items():
        out[name] = fill(torch.empty(shape)).numpy()
    for name, (init, bias, rules) in fsdp_initializers().items():
        net = Net()
        torch.manual_seed(TORCH_SEED)
        out[f"{name}/names"] = np.array(vscale.torch.init_module(net, init, rules=rules, bias=bias))
        with torch.no_grad():
            out[f"{name}/output"] = net(torch.tensor(NET_INPUT)).numpy()
        for param_name, param in net.named_parameters():
            out[f"{name}/{param_name}"] = param.detach().numpy()
    return out


def _placements(spec: tuple[str, ...]) -> list[Any]:
    from torch.distributed.tensor import Replicate, Shard

    return [Replicate() if p == "R" else Shard(int(p[1:])) for p in spec]


def _chunk(size: int, parts: int, index: int) -> tuple[int, int]:
    """torch.chunk's piece ``index`` of ``size`` rows in ``parts``: (offset, length)."""
    step = -(-size // parts)
    start = min(step * index, size)
    return start, min(start + step, size) - start


def run(outdir: str) -> None:
    import torch.distributed as dist
    import torch.distributed.tensor as dt
    from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    # DTensor's advice on gathering a tensor sharded twice on one dimension: noise here.
    logging.getLogger("torch.distributed.tensor._redistribute").setLevel(logging.ERROR)
    dist.init_process_group("gloo")
    gathered: dict[str, Any] = {}
    mine: dict[str, Any] = {}
    errors: dict[str, str] = {}
    meshes: dict[tuple[int, ...], Any] = {(world,): init_device_mesh("cpu", (world,))}
    for mesh_2d in meshes_2d(world):
        meshes[mesh_2d] = init_device_mesh("cpu", mesh_2d, mesh_dim_names=("a", "b"))

    # DTensors: every layout and initializer, one sequence of calls through every shape,
    # two calls each, as in references(): a rank that skipped the call of an empty shard
    # ("tiny" on 3 ranks) would be one call behind for the shapes after it.
    for mesh_shape, spec in layouts(world):
        for init_name, make in INITIALIZERS.items():
            init = make()
            for shape_name, shape in SHAPES.items():
                name = case_name(shape_name, init_name, mesh_shape, spec)
                for call in (0, 1):
                    tensor = dt.empty(shape, device_mesh=meshes[mesh_shape], placements=_placements(spec))
                    # The second call goes through the initializer's own fill_, which hands
                    # DTensors to fill_shard_: both entry points must give the reference.
                    filled = vscale.torch.fill_shard_(tensor, init) if call == 0 else init.fill_(tensor)
                    assert filled is tensor
                    full = tensor.full_tensor().numpy()
                    if rank == 0:
                        gathered[f"{name}/{call}"] = full
                    if spec == ("R",):
                        mine[f"{name}/{call}"] = tensor.to_local().numpy().copy()

    # Each rank fills its local piece as a whole tensor: the fans and positions of the
    # piece, not of the tensor.  The parent checks that this does NOT give the reference.
    tensor = dt.empty(SHAPES["rows"], device_mesh=meshes[(world,)], placements=_placements(("S0",)))
    INITIALIZERS["threefry"]().fill_(tensor.to_local())
    full = tensor.full_tensor().numpy()
    if rank == 0:
        gathered["naive"] = full

    # The helpers, unseeded: torch.manual_seed with one seed on every rank.
    torch.manual_seed(TORCH_SEED)
    tensor = dt.empty((7, 5), device_mesh=meshes[(world,)], placements=_placements(("S0",)))
    assert vscale.torch.he_uniform_(tensor) is tensor
    second = dt.empty((5, 7), device_mesh=meshes[(world,)], placements=_placements(("S1",)))
    vscale.torch.glorot_normal_(second, prng="threefry")
    for key, value in (("helper_he_uniform", tensor), ("helper_glorot_normal_threefry", second)):
        full = value.full_tensor().numpy()
        if rank == 0:
            gathered[key] = full
    for key, (shape, fill) in DISTRIBUTION_HELPERS.items():  # the same calls, in the same order
        placements = _placements(("S1",) if key.endswith("threefry") else ("S0",))
        value = dt.empty(shape, device_mesh=meshes[(world,)], placements=placements)
        assert fill(value) is value
        full = value.full_tensor().numpy()
        if rank == 0:
            gathered[key] = full

    # Manual sharding: torch.chunk's rows and columns, with offsets and with a region.
    for key, dim in (("manual_rows", 0), ("manual_cols", 1)):
        shape = SHAPES["uneven"]
        start, length = _chunk(shape[dim], world, rank)
        local_shape = list(shape)
        local_shape[dim] = length
        offsets = [0, 0]
        offsets[dim] = start
        piece = torch.empty(local_shape)
        init = INITIALIZERS["threefry"]()
        assert vscale.torch.fill_shard_(piece, init, shape, offsets) is piece
        mine[f"{key}/0"] = piece.numpy().copy()
        region = [slice(None), slice(None)]
        region[dim] = slice(start, start + length)
        piece = torch.empty(local_shape)
        vscale.torch.fill_shard_(piece, init, shape, region=tuple(region))
        mine[f"{key}/1"] = piece.numpy().copy()

    # A mesh of rank 0 alone: the other ranks hold nothing, but still make the call, so that
    # their next call (on the whole world) is at the same index.
    submesh = DeviceMesh("cpu", [0])
    init = INITIALIZERS["threefry"]()
    alone = dt.empty(SHAPES["uneven"], device_mesh=submesh, placements=_placements(("S0",)))
    vscale.torch.fill_shard_(alone, init)
    if rank == 0:
        gathered["submesh/0"] = alone.to_local().numpy().copy()
    after = dt.empty(SHAPES["uneven"], device_mesh=meshes[(world,)], placements=_placements(("S0",)))
    vscale.torch.fill_shard_(after, init)
    full = after.full_tensor().numpy()
    if rank == 0:
        gathered["submesh/1"] = full

    # Refusals: Partial, and init_module on a model with a Partial parameter stays untouched.
    partial = dt.zeros((4, 4), device_mesh=meshes[(world,)], placements=[dt.Partial()])
    try:
        vscale.torch.he_normal_(partial)
    except ValueError as error:
        errors["partial"] = str(error)
    from torch.distributed.tensor.placement_types import _StridedShard

    strided = dt.DTensor.from_local(torch.zeros(2, 4), meshes[(world,)], [_StridedShard(0, split_factor=2)])
    try:
        vscale.torch.fill_shard_(strided, INITIALIZERS["threefry"]())
    except ValueError as error:
        errors["strided"] = str(error)
    try:
        vscale.torch.fill_shard_(after, INITIALIZERS["threefry"](), SHAPES["uneven"], (0, 0))
    except ValueError as error:
        errors["dtensor_with_shape"] = str(error)
    first, second_layer = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)
    with torch.no_grad():
        first.weight.fill_(2.0)
    second_layer.weight = torch.nn.Parameter(dt.zeros((4, 4), device_mesh=meshes[(world,)], placements=[dt.Partial()]))
    try:
        vscale.torch.init_module(torch.nn.Sequential(first, second_layer), INITIALIZERS["threefry"]())
    except ValueError as error:
        errors["init_module_partial"] = str(error)
    mine["init_module_partial_untouched"] = first.weight.detach().numpy().copy()

    # FSDP2: a model built on the meta device, sharded, materialized, then initialized.
    from torch.distributed.fsdp import fully_shard

    for name, (init, bias, rules) in fsdp_initializers().items():
        with torch.device("meta"):
            model = Net()
        for layer in (model.embedding, model.conv, model.fc1, model.fc2):
            fully_shard(layer, mesh=meshes[(world,)])
        fully_shard(model, mesh=meshes[(world,)])
        try:
            vscale.torch.init_module(model, init, rules=rules, bias=bias)
        except ValueError as error:
            errors[f"{name}_meta"] = str(error)
        model.to_empty(device="cpu")
        torch.manual_seed(TORCH_SEED)
        names = vscale.torch.init_module(model, init, rules=rules, bias=bias)
        if rank == 0:
            gathered[f"{name}/names"] = np.array(names)
        param: Any
        for param_name, param in model.named_parameters():
            mine[f"{name}/{param_name}/placements"] = np.array(repr(tuple(param.placements)))
            full = param.full_tensor().detach().numpy()
            if rank == 0:
                gathered[f"{name}/{param_name}"] = full
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # FSDP2 on views it returns
            output = model(torch.tensor(NET_INPUT)).numpy()
        if rank == 0:
            gathered[f"{name}/output"] = output

    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        np.savez(os.path.join(outdir, "gathered.npz"), **gathered)
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **mine)
    with open(os.path.join(outdir, f"rank{rank}.json"), "w") as file:
        json.dump(errors, file)


if __name__ == "__main__":
    run(sys.argv[1])
