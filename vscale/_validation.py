"""Argument checks shared by the public API: build a message naming the argument,
the value received and what is allowed, then raise; never return a partial result."""

from __future__ import annotations

import math
import numbers
import operator
import sys
from collections.abc import Iterable
from typing import Any

MODES = ("fan_in", "fan_out", "fan_avg")
# NumPy's limit on the number of dimensions (array-api-strict inherits it); applied on every
# backend so that a shape valid on one is valid on all.
MAX_RANK = 64
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
# Keras accepts "normal" as the historical name of the truncated normal.
DISTRIBUTION_ALIASES = {"normal": "truncated_normal"}


def validate_scale(scale: Any) -> float:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(
            f"Argument `scale` must be a positive real number; received {scale!r} "
            f"of type {type(scale).__name__}."
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
        raise ValueError(
            f"Invalid `mode` argument: expected one of {set(MODES)}; received mode={mode!r}."
        )
    return mode.lower()


def validate_distribution(distribution: Any) -> str:
    if isinstance(distribution, str):
        name = distribution.lower()
        name = DISTRIBUTION_ALIASES.get(name, name)
        if name in DISTRIBUTIONS:
            return name
    allowed = set(DISTRIBUTIONS) | set(DISTRIBUTION_ALIASES)
    raise ValueError(
        f"Invalid `distribution` argument: expected one of {allowed} (case-insensitive); "
        f"received distribution={distribution!r}."
    )


def validate_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"Argument `seed` must be None or a non-negative integer; received {seed!r} "
            f"of type {type(seed).__name__}."
        )
    if seed < 0:
        raise ValueError(f"Argument `seed` must be None or a non-negative integer; received seed={seed!r}.")
    return int(seed)


def validate_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of Python ints; an integer means a 1-D shape."""
    not_a_sequence = TypeError(
        f"Argument `shape` must be a sequence of non-negative integers; received {_short(shape)} "
        f"of type {type(shape).__name__}."
    )
    if _is_integer(shape):
        dims: Iterable[Any] = (shape,)
    elif isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
        raise not_a_sequence
    else:
        try:
            dims = tuple(shape)
        except TypeError:  # iterable by type only, e.g. a 0-d float array
            raise not_a_sequence from None
    result = []
    for dim in dims:
        if not _is_integer(dim):
            raise TypeError(
                f"Argument `shape` must contain only non-negative integers; received shape={shape!r} "
                f"with entry {dim!r} of type {type(dim).__name__}."
            )
        value = operator.index(dim)
        if value < 0:
            raise ValueError(
                f"Argument `shape` must contain only non-negative integers; received shape={shape!r}."
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


def validate_allocation(shape: Any, dims: tuple[int, ...], dtype_name: str, itemsize: int, memory: int | None) -> None:
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
            f"(received shape={_short(shape)})."
        )
    count = math.prod(dims)
    nbytes = count * itemsize
    limit, what = sys.maxsize, "the largest array size a 64-bit platform can address"
    if memory is not None and memory < limit:
        limit, what = memory, "the total memory of the target device"
    if nbytes > limit:
        raise ValueError(
            f"Argument `shape`={_short(shape)} asks for {_magnitude(count)} values of {dtype_name} "
            f"({_magnitude(nbytes // 2**30)} GiB), more than {what} ({limit / 2**30:.4g} GiB); "
            f"nothing was allocated."
        )


def _short(value: Any) -> str:
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
