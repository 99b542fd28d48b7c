"""A call as a lazy Dask array: one task per block, each computing its region of the call.

The public layer checks the arguments, builds the call's transform and draws its key
once, when the lazy array is made (``vscale.dask.array``, or ``xp="dask"``): the lazy
call is one call of the initializer, whatever is computed later and how often.  Each
block is then a task that plans and generates its own global region of that call from
plain data (the transform, the key, the global shape, the dtype's name) on the worker
that runs it; nothing of the whole array exists anywhere, and no task needs the
initializer.

The region guarantee (``init.sample(shape, region=r)`` is ``init(shape)[r]`` of the same call)
makes the blocks fit: with ``prng="threefry"``, or native streams on NumPy blocks (PCG64
seeks), the computed array is bit for bit the NumPy call's, for any chunking.

Importing this module imports no Dask: the public layer hands :func:`lazy_array` the
modules it imported while checking the arguments.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np

from ..backends import get_backend
from ..core.precision import itemsize
from ..core.regions import Box
from .generate import generate
from .plan import plan


def lazy_array(
    da: Any,
    module: Any,
    *,
    transform: Any,
    portable: bool,
    key: bytes,
    dims: tuple[int, ...],
    name: str,
    native: Any,
    library: str,
    chunks: tuple[tuple[int, ...], ...],
) -> Any:
    """The lazy ``dask.array.Array`` of one checked call whose key is drawn."""
    numpy_dtype = np.dtype(native)
    meta = module.empty((0,) * len(dims), dtype=numpy_dtype)  # the type of the blocks, for Dask
    tokenize = importlib.import_module("dask.base").tokenize
    token = tokenize(transform, portable, key, dims, name, library, chunks)
    return da.map_blocks(
        make_block,
        chunks=chunks,
        dtype=numpy_dtype,
        meta=meta,
        name=f"vscale-{token}",
        transform=transform,
        portable=portable,
        call_key=key,
        whole=dims,
        dtype_name=name,
        library=library,
    )


def make_block(
    *,
    transform: Any,
    portable: bool,
    call_key: bytes,
    whole: tuple[int, ...],
    dtype_name: str,
    library: str,
    block_info: dict[Any, Any],
) -> Any:
    """One block of a lazy call: the global region Dask gives in ``block_info``, computed here.

    A module-level function of plain data, so that Dask's distributed scheduler can pickle
    the task; each worker keeps the plans of the blocks it has made.
    """
    location = block_info[None]["array-location"]
    box = Box(tuple(a for a, _ in location), (1,) * len(location), tuple(b - a for a, b in location))
    return generate(_block_plan(transform, portable, whole, dtype_name, library, box), call_key)


@functools.lru_cache(maxsize=256)
def _block_plan(transform: Any, portable: bool, whole: tuple[int, ...], name: str, library: str, box: Box) -> Any:
    backend = get_backend(library)
    device = backend.resolve_device(None)
    return plan(
        backend,
        whole,
        name,
        backend.native_dtype(name),
        device,
        transform,
        itemsize(name),
        threefry=portable,
        region=box,
    )
