"""Argument checks shared by the public API: build a message naming the argument,
the value received and what is allowed, then raise; never return a partial result."""

from __future__ import annotations

import importlib
import math
import numbers
import operator
import sys
import warnings
from collections.abc import Iterable, Mapping, Set
from typing import Any

import numpy as np

from ..backends.compat import is_cupy_namespace, is_numpy_namespace
from ..core.regions import Box
from ..core.transforms import DISTRIBUTIONS, Kind

MODES = ("fan_in", "fan_out", "fan_avg")
# NumPy's limit on the number of dimensions (array-api-strict inherits it); applied on every
# backend so that a shape valid on one is valid on all.
MAX_RANK = 64

# Keras accepts "normal" as the historical name of the truncated normal.
DISTRIBUTION_ALIASES = {"normal": "truncated_normal"}


def validate_scale(scale: Any) -> float:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(
            f"Argument `scale` must be a positive real number; received {scale!r} of type {type(scale).__name__}."
        )
    try:
        value = float(scale)
    except OverflowError:  # an int or Fraction beyond float64
        value = math.inf
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"Argument `scale` must be a positive finite float; received scale={scale!r}.")
    return value


def validate_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode.lower() not in MODES:
        raise ValueError(f"Invalid `mode` argument: expected one of {set(MODES)}; received mode={mode!r}.")
    return mode.lower()


def validate_distribution(distribution: Any) -> Kind:
    if isinstance(distribution, str):
        name = distribution.lower()
        name = DISTRIBUTION_ALIASES.get(name, name)
        if name in DISTRIBUTIONS:
            return DISTRIBUTIONS[DISTRIBUTIONS.index(name)]  # typed as the Literal it is
    allowed = set(DISTRIBUTIONS) | set(DISTRIBUTION_ALIASES)
    raise ValueError(
        f"Invalid `distribution` argument: expected one of {allowed} (case-insensitive); "
        f"received distribution={distribution!r}."
    )


PRNGS = ("native", "threefry")


def validate_prng(prng: Any) -> str:
    if not isinstance(prng, str) or prng.lower() not in PRNGS:
        raise ValueError(f"Invalid `prng` argument: expected one of {set(PRNGS)}; received prng={prng!r}.")
    return prng.lower()


def validate_threefry_seed(seed: int | None) -> None:
    """Threefry's key is JAX's split of a 64-bit seed: larger seeds have no key."""
    if seed is not None and seed >= 2**64:
        raise ValueError(
            f'Argument `seed` must be below 2**64 with prng="threefry" (it is JAX\'s 64-bit key); received seed={seed}.'
        )


def validate_region(region: Any, dims: tuple[int, ...]) -> Box:
    """``region`` (a tuple of slices, one per leading dimension) as a :class:`Box` of ``dims``."""
    if isinstance(region, slice):
        region = (region,)
    if not isinstance(region, (tuple, list)) or not all(isinstance(part, slice) for part in region):
        raise TypeError(
            f"Argument `region` must be a tuple of slices, one per leading dimension; received {short_repr(region)}."
        )
    if len(region) > len(dims):
        raise ValueError(
            f"Argument `region` has {len(region)} slices for a shape of rank {len(dims)}; received region={region!r}."
        )
    starts, steps, sizes = [], [], []
    for part, dim in zip([*region, *[slice(None)] * (len(dims) - len(region))], dims, strict=True):
        for name in ("start", "stop", "step"):
            value = getattr(part, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
                raise TypeError(f"Argument `region` must hold slices of integers; received region={region!r}.")
        if part.step == 0:
            raise ValueError(f"Argument `region` has a slice with step 0; received region={region!r}.")
        start, stop, step = part.indices(dim)
        size = len(range(start, stop, step))
        starts.append(start if size else 0)
        steps.append(step)
        sizes.append(size)
    return Box(tuple(starts), tuple(steps), tuple(sizes))


def validate_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"Argument `seed` must be None or a non-negative integer; received {seed!r} of type {type(seed).__name__}."
        )
    if seed < 0:
        raise ValueError(f"Argument `seed` must be None or a non-negative integer; received seed={seed!r}.")
    return int(seed)


def validate_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of Python ints; an integer means a 1-D shape."""
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape  # the common case, checked without building anything
    not_a_sequence = TypeError(
        f"Argument `shape` must be a sequence of non-negative integers; received {short_repr(shape)} "
        f"of type {type(shape).__name__}."
    )
    if _is_integer(shape):
        dims: Iterable[Any] = (shape,)
    elif isinstance(shape, (str, bytes, Mapping, Set)) or not isinstance(shape, Iterable):
        raise not_a_sequence  # a mapping or a set has no order of dimensions
    else:
        try:
            dims = tuple(shape)
        except TypeError:  # iterable by type only, e.g. a 0-d float array
            raise not_a_sequence from None
    result = []
    for dim in dims:
        if not _is_integer(dim):
            raise TypeError(
                f"Argument `shape` must contain only non-negative integers; received shape={short_repr(shape)} "
                f"with entry {short_repr(dim)} of type {type(dim).__name__}."
            )
        value = operator.index(dim)
        if value < 0:
            raise ValueError(
                f"Argument `shape` must contain only non-negative integers; received shape={short_repr(shape)}."
            )
        result.append(value)
    return tuple(result)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    # NumPy/torch integer scalars and 0-d integer arrays implement __index__.
    if hasattr(value, "__index__") and not hasattr(value, "dtype"):
        return True
    dtype = getattr(value, "dtype", None)
    if dtype is not None and getattr(value, "ndim", None) == 0:
        return "int" in str(dtype) and "bool" not in str(dtype)
    return False


# --- Fan layouts (input_axes / output_axes, layout, groups) --------------------------------

LAYOUTS = ("keras", "torch", "torch_transposed")


def validate_layout(layout: Any) -> str:
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"Invalid `layout` argument: expected one of {LAYOUTS}; received layout={layout!r}.")
    return layout


def validate_groups(groups: Any) -> int:
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(
            f"Argument `groups` must be a positive integer; received {groups!r} of type {type(groups).__name__}."
        )
    if groups < 1:
        raise ValueError(f"Argument `groups` must be a positive integer; received groups={groups!r}.")
    return int(groups)


def validate_axes(name: str, axes: Any) -> tuple[int, ...] | None:
    """``None``, or the axes as a tuple of ints (an int means one axis, as in JAX)."""
    if axes is None:
        return None
    items = (axes,) if _is_integer(axes) else axes
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"Argument `{name}` must be None or a list of integers; received {name}={axes!r}.")
    result = tuple(items)
    for axis in result:
        if not _is_integer(axis):
            raise TypeError(
                f"Argument `{name}` must be None or a list of integers; received {name}={axes!r} "
                f"with entry {axis!r} of type {type(axis).__name__}."
            )
    return tuple(operator.index(a) for a in result)


def validate_fan_arguments(
    input_axes: Any, output_axes: Any, layout: Any, groups: Any
) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None, str, int]:
    """Check the four fan-layout arguments together; explicit axes exclude layout/groups."""
    ins, outs = validate_axes("input_axes", input_axes), validate_axes("output_axes", output_axes)
    layout, groups = validate_layout(layout), validate_groups(groups)
    if (ins is not None or outs is not None) and (layout != "keras" or groups != 1):
        raise ValueError(
            "Arguments `input_axes`/`output_axes` name the fan axes themselves and cannot be combined with "
            f"`layout` or `groups`; received input_axes={input_axes!r}, output_axes={output_axes!r}, "
            f"layout={layout!r}, groups={groups!r}."
        )
    if (ins is None) != (outs is None):
        warnings.warn(
            "Only one of `input_axes` and `output_axes` was given; as in Keras 3, the axes are used only "
            f"when both are given, so the default rule applies (input_axes={input_axes!r}, "
            f"output_axes={output_axes!r}).",
            UserWarning,
            stacklevel=3,
        )
    return ins, outs, layout, groups


def validate_allocation(
    dims: tuple[int, ...], dtype_name: str, itemsize: int, memory: int | None, max_empty_extent: int | None = None
) -> None:
    """Refuse a result that cannot exist, before anything is allocated.

    ``memory`` is the total memory of the target device in bytes (None where unknown): a
    result larger than that can never be allocated, so asking for it is an error in
    ``shape``, not a ``MemoryError`` (or a framework's ``RuntimeError``) from the allocator.
    Independently of the machine, the byte count must fit a signed 64-bit size, as NumPy
    and PyTorch require, and the rank may not exceed ``MAX_RANK``.
    """
    if len(dims) > MAX_RANK:
        raise ValueError(
            f"Argument `shape` has {len(dims)} dimensions; at most {MAX_RANK} are supported "
            f"(received shape={short_repr(dims)})."
        )
    count = math.prod(dims)
    if count == 0:
        # An empty array still has its other dimensions; NumPy refuses them when their
        # product overflows a 64-bit size, and some libraries (JAX) take time and memory
        # that grow with it, so the rule is the same as for a non-empty array's size.
        extent = math.prod(d for d in dims if d)
        limit = sys.maxsize // itemsize if max_empty_extent is None else max_empty_extent
        if extent > limit:
            raise ValueError(
                f"Argument `shape`={short_repr(dims)} is empty, but the product of its other dimensions "
                f"({_magnitude(extent)}) exceeds what this backend can represent ({_magnitude(limit)}); "
                "nothing was allocated."
            )
        return
    nbytes = count * itemsize
    limit, what = sys.maxsize, "the largest array size a 64-bit platform can address"
    if memory is not None and memory < limit:
        limit, what = memory, "the total memory of the target device"
    if nbytes > limit:
        raise ValueError(
            f"Argument `shape`={short_repr(dims)} asks for {_magnitude(count)} values of {dtype_name} "
            f"({_magnitude(nbytes // 2**30)} GiB), more than {what} ({limit / 2**30:.4g} GiB); "
            f"nothing was allocated."
        )


def short_repr(value: Any) -> str:
    """``repr(value)``, shortened, and safe for integers too long for ``str()``."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for str() (sys.get_int_max_str_digits)
        return f"<{type(value).__name__} with a gigantic entry>"
    return text if len(text) <= 200 else text[:197] + "..."


def _magnitude(number: float) -> str:
    """``4.1e+12`` style, or ``2**N`` beyond the float range."""
    try:
        return f"{float(number):.4g}"
    except OverflowError:
        return f"2**{int(number).bit_length()}"


# -- lazy Dask calls ----------------------------------------------------------------------

#: Module names of Dask's array namespaces: Dask's own and array-api-compat's wrapper.
_DASK_NAMESPACES = ("dask.array", "array_api_compat.dask.array")
#: Array libraries a block may be made with (``block_xp=``).
BLOCK_LIBRARIES = ("numpy", "cupy")


def is_dask_namespace(xp: Any) -> bool:
    """Whether ``xp`` asks for a Dask array: ``"dask"``, ``dask.array`` or array-api-compat's namespace."""
    if isinstance(xp, str):
        return xp == "dask"
    return getattr(xp, "__name__", None) in _DASK_NAMESPACES


def validate_dask_arguments(
    xp: Any, device: Any, region: Any, chunks: Any, block_xp: Any, portable: bool
) -> tuple[Any, Any, str]:
    """``(dask.array, block module, block library name)`` for a lazy call's arguments, or the
    error that names the one that cannot be: everything Dask-specific is refused here, first."""
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
    if not portable and library != "numpy":
        raise ValueError(
            f'Argument `block_xp`={library!r} needs prng="threefry": each block is a region of the call, and '
            "only NumPy's native stream seeks to a region; received an initializer with prng='native'."
        )
    try:
        da = importlib.import_module("dask.array")  # optional framework: only lazy calls need Dask
    except ImportError as error:
        raise ValueError(
            f"Argument `xp`={short_repr(xp)} needs Dask's arrays (pip install 'dask[array]'): {error}."
        ) from None
    try:
        module = importlib.import_module(library)  # optional framework: the library of the blocks
    except ImportError as error:
        raise ValueError(f"Argument `block_xp`={library!r} names a library that is not installed: {error}.") from None
    return da, module, library


#: What every block size must be, in each refusal of ``chunks``.
_BLOCK_SIZE_RULE = "block sizes must be positive integers (or -1 for the whole dimension)"


def _block_sizes(chunks: Any) -> list[Any]:
    """The numbers written in ``chunks`` (an int, a tuple, list or array of ints or of tuples, a dict of them).

    Strings (``"auto"``, ``"64MiB"``) and ``None`` are Dask's to read, not block sizes.
    """
    if isinstance(chunks, dict):
        return _block_sizes(tuple(chunks.values()))
    if isinstance(chunks, np.ndarray):
        return _block_sizes(chunks.tolist())
    if isinstance(chunks, (tuple, list)):
        return [size for part in chunks for size in _block_sizes(part)]
    return [] if chunks is None or isinstance(chunks, str) else [chunks]


def _is_block_size(size: Any) -> bool:
    """A whole number of at least 0 (0 only fits an empty dimension), or -1, Dask's "the whole dimension"."""
    return isinstance(size, numbers.Integral) and not isinstance(size, bool) and int(size) >= -1


def validate_chunks(da: Any, chunks: Any, dims: tuple[int, ...], dtype: Any) -> tuple[tuple[int, ...], ...]:
    """``chunks`` in Dask's normalized form for ``dims``, or a ``ValueError`` that names it."""
    odd = [size for size in _block_sizes(chunks) if not _is_block_size(size)]
    if odd:
        raise ValueError(
            f"Argument `chunks` has the block size {short_repr(odd[0])}; {_BLOCK_SIZE_RULE}; "
            f"received chunks={short_repr(chunks)}."
        )
    try:
        normalized = da.core.normalize_chunks("auto" if chunks is None else chunks, dims, dtype=np.dtype(dtype))
    except ZeroDivisionError:
        raise ValueError(
            f"Argument `chunks` has a block size of 0 for a dimension of the shape {dims} that is not empty; "
            f"{_BLOCK_SIZE_RULE}; received chunks={short_repr(chunks)}."
        ) from None
    except (ValueError, TypeError, NotImplementedError) as error:
        raise ValueError(
            f"Argument `chunks` does not fit the shape {dims}: {str(error).rstrip('.')}; "
            f"received chunks={short_repr(chunks)}."
        ) from None
    bad = [size for sizes in normalized for size in sizes if not isinstance(size, numbers.Integral) or size < 0]
    if bad or any(not sizes for sizes, extent in zip(normalized, dims, strict=True) if extent):
        raise ValueError(
            f"Argument `chunks` must give blocks of positive integer sizes that add up to the shape {dims}; "
            f"received chunks={short_repr(chunks)}."
        )
    return normalized


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
