"""Lazy Dask arrays: ``init(shape, dtype, xp="dask", chunks=...)``.

The client checks the arguments and draws the call's key once, when the lazy array is
made: the lazy call is one call of the initializer, whatever is computed later and how
often.  Each block is then a task that makes its own global region of that call from
plain data (the distribution's parameters, the fan layout, the key, the global shape and
the dtype's name) on the worker that runs it; nothing of the whole array exists anywhere.
The region guarantee (``init(shape, region=r)`` is ``init(shape)[r]`` of the same call)
makes the blocks fit: with ``prng="threefry"``, or native streams on NumPy blocks (PCG64
seeks), the computed array is bit for bit the NumPy call's, for any chunking.

Importing this module imports no Dask; :func:`dask_array` does.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

import numpy as np

from ._compat import is_cupy_namespace, is_numpy_namespace
from ._dtypes import itemsize, resolve_dtype
from ._validation import short_repr, validate_allocation, validate_shape
from .backends import get_backend
from .core.regions import Box

if TYPE_CHECKING:
    from .initializers import VarianceScaling

#: Module names of Dask's array namespaces: Dask's own and array-api-compat's wrapper.
_DASK_NAMESPACES = ("dask.array", "array_api_compat.dask.array")
#: Array libraries a block may be made with (``block_xp=``).
BLOCK_LIBRARIES = ("numpy", "cupy")


def is_dask_namespace(xp: Any) -> bool:
    """Whether ``xp`` asks for a Dask array: ``"dask"``, ``dask.array`` or array-api-compat's namespace."""
    if isinstance(xp, str):
        return xp == "dask"
    return getattr(xp, "__name__", None) in _DASK_NAMESPACES


def dask_array(
    initializer: VarianceScaling,
    shape: Any,
    dtype: Any,
    *,
    xp: Any,
    device: Any,
    generator: Any,
    region: Any,
    chunks: Any,
    block_xp: Any,
) -> Any:
    """The lazy ``dask.array.Array`` of one call of ``initializer`` (see :meth:`VarianceScaling.__call__`).

    Everything that can be refused is checked before the key is drawn.
    """
    if not is_dask_namespace(xp):
        what = "chunks" if chunks is not None else "block_xp"
        value = chunks if chunks is not None else block_xp
        raise TypeError(
            f"Argument `{what}` is only valid with a Dask `xp` ('dask', dask.array or "
            f"array_api_compat.dask.array); received {what}={short_repr(value)} with xp={short_repr(xp)}."
        )
    if device is not None:
        raise ValueError(
            "Argument `device` is not supported with a Dask `xp`: each block is made on the worker that runs "
            f"its task (NumPy blocks on its CPU, CuPy blocks on its current GPU); received device={short_repr(device)}."
        )
    if region is not None:
        raise ValueError(
            "Argument `region` cannot be combined with a Dask `xp`: slice the lazy array instead (only the "
            f"blocks that the slice touches are computed); received region={short_repr(region)}."
        )
    library = _block_library(block_xp)
    if initializer.prng == "native" and library != "numpy":
        raise ValueError(
            f'Argument `block_xp`={library!r} needs prng="threefry": each block is a region of the call, and '
            "only NumPy's native stream seeks to a region; received an initializer with prng='native'."
        )
    try:
        da = importlib.import_module("dask.array")
    except ImportError as error:
        raise ValueError(
            f"Argument `xp`={short_repr(xp)} needs Dask's arrays (pip install 'dask[array]'): {error}."
        ) from None
    dims = validate_shape(shape)
    try:
        module = importlib.import_module(library)
    except ImportError as error:
        raise ValueError(f"Argument `block_xp`={library!r} names a library that is not installed: {error}.") from None
    backend = get_backend(module)
    name, native = resolve_dtype(backend, dtype)
    validate_allocation(dims, name, itemsize(name), None, backend.max_empty_extent)
    fan_layout = initializer._fan_layout()
    initializer._transform(dims, fan_layout, name)  # refuses values the dtype cannot hold
    numpy_dtype = np.dtype(native)
    try:
        normalized = da.core.normalize_chunks("auto" if chunks is None else chunks, dims, dtype=numpy_dtype)
    except (ValueError, TypeError, NotImplementedError) as error:
        raise ValueError(
            f"Argument `chunks` does not fit the shape {dims}: {error}; received chunks={short_repr(chunks)}."
        ) from None
    meta = module.empty((0,) * len(dims), dtype=numpy_dtype)  # the type of the blocks, for Dask
    # The key is drawn here, once: every block computes its region of this one call.  Unseeded
    # calls and numpy.random.Generator's draw it on the client, from NumPy (as a NumPy call does).
    host = get_backend("numpy")
    key = initializer._key(host, generator, host.resolve_device(None))
    config = (initializer.scale, initializer.mode, initializer.distribution, initializer.prng)
    from dask.base import tokenize

    token = tokenize(config, fan_layout, key, dims, name, library, normalized)
    return da.map_blocks(
        make_block,
        chunks=normalized,
        dtype=numpy_dtype,
        meta=meta,
        name=f"vscale-{token}",
        config=config,
        fan_layout=fan_layout,
        call_key=key,
        whole=dims,
        dtype_name=name,
        library=library,
    )


def make_block(
    *,
    config: tuple[float, str, str, str],
    fan_layout: tuple[Any, ...],
    call_key: bytes,
    whole: tuple[int, ...],
    dtype_name: str,
    library: str,
    block_info: dict[Any, Any],
) -> Any:
    """One block of a lazy call: the global region Dask gives in ``block_info``, computed here.

    A module-level function of plain data, so that Dask's distributed scheduler can pickle
    the task; the initializer that computes it is rebuilt from ``config`` (once per worker).
    """
    location = block_info[None]["array-location"]
    box = Box(tuple(a for a, _ in location), (1,) * len(location), tuple(b - a for a, b in location))
    initializer = _worker_initializer(config)
    return initializer._generate(whole, dtype_name, library, None, fan_layout, region=box, key=call_key)


@functools.lru_cache(maxsize=16)
def _worker_initializer(config: tuple[float, str, str, str]) -> VarianceScaling:
    """An initializer for blocks (no seed: blocks take their call's key), kept for its checked plans."""
    from .initializers import VarianceScaling

    scale, mode, distribution, prng = config
    return VarianceScaling(scale, mode, distribution, prng=prng)  # type: ignore[arg-type]


def _block_library(block_xp: Any) -> str:
    """``block_xp`` as one of :data:`BLOCK_LIBRARIES` (None: NumPy)."""
    if block_xp is None:
        return "numpy"
    if isinstance(block_xp, str):
        if block_xp in BLOCK_LIBRARIES:
            return block_xp
    elif isinstance(getattr(block_xp, "__name__", None), str):  # a module or namespace
        if is_numpy_namespace(block_xp):
            return "numpy"
        if is_cupy_namespace(block_xp):
            return "cupy"
    raise ValueError(
        f"Argument `block_xp` must be None, 'numpy', 'cupy' or one of those modules (the array library of each "
        f"block of a Dask array); received block_xp={short_repr(block_xp)}."
    )
