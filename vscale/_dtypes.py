"""Dtype arguments: names, backend dtype objects, the default, and output-dtype rounding."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._config import FLOAT_NAMES, floatx
from .backends import Backend

_NON_FLOAT_NAMES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
}  # fmt: skip

#: Complex dtype names and the real dtype of their parts.
COMPLEX_PARTS = {"complex64": "float32", "complex128": "float64"}


def dtype_label(dtype: Any) -> str:
    """A framework-neutral name for a dtype argument (``torch.float32`` -> ``"float32"``)."""
    if isinstance(dtype, str):
        return dtype
    try:
        return np.dtype(dtype).name
    except (TypeError, ValueError):
        return str(dtype).rsplit(".", 1)[-1]


#: Libraries whose dtype objects name them, so that ``dtype=torch.float16`` without
#: ``xp`` gives a torch tensor rather than a NumPy array.
_DTYPE_OWNERS = {"torch": "torch", "jax": "jax", "array_api_strict": "array_api_strict"}


def namespace_of_dtype(dtype: Any) -> str | None:
    """The backend name a framework dtype object belongs to, or None (strings, NumPy)."""
    if dtype is None or isinstance(dtype, str):
        return None
    module = type(dtype).__module__ if not isinstance(dtype, type) else dtype.__module__
    return _DTYPE_OWNERS.get(str(module).split(".")[0])


def resolve_dtype(backend: Backend, dtype: Any) -> tuple[str, Any]:
    """``(name, native dtype)`` for a ``dtype`` argument; ``None`` means :func:`floatx`."""
    label = floatx() if dtype is None else dtype_label(dtype)
    if label in FLOAT_NAMES or label in COMPLEX_PARTS:
        native = backend.native_dtype(label)
        if native is not None:
            return label, native
        raise ValueError(
            f"Argument `dtype`={dtype!r} is not available on the {backend.framework_name} backend; "
            f"use one of {[n for n in _ALL_NAMES if backend.native_dtype(n) is not None]}."
        )
    if label in _NON_FLOAT_NAMES:
        raise ValueError(
            f"Expected a floating point or complex type for argument `dtype`; received dtype={dtype!r} ({label})."
        )
    raise TypeError(f"Argument `dtype` is not a known dtype: received {dtype!r}; expected one of {_ALL_NAMES}.")


def is_complex(name: str) -> bool:
    """Whether a name returned by :func:`resolve_dtype` is a complex dtype."""
    return name in COMPLEX_PARTS


_ALL_NAMES = FLOAT_NAMES + tuple(COMPLEX_PARTS)


@functools.lru_cache(maxsize=1024)
def largest_at_most(value: float, name: str) -> float:
    """The largest number of dtype ``name`` that is ``<= value`` (``value >= 0``).

    Clipping at this bound in float32/float64 keeps the final rounding to ``name`` inside
    ``[-value, value]``: rounding is monotone and the bound is representable.
    """
    if math.isinf(value):
        return value
    if name == "bfloat16":
        # bfloat16 is float32 with the low 16 bits dropped; dropping them rounds toward 0.
        as_float32 = np.float32(largest_at_most(value, "float32"))
        bits = np.array(as_float32).view(np.uint32) & np.uint32(0xFFFF0000)
        return float(bits.view(np.float32))
    target = np.dtype(name).type
    rounded = target(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, target(0))
    return float(rounded)


def itemsize(name: str) -> int:
    """Bytes per value of a dtype name (bfloat16 and complex included)."""
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


def working_name(name: str) -> str:
    """The real dtype the transforms compute in for an output dtype name."""
    return "float64" if name in ("float64", "complex128") else "float32"


@functools.lru_cache(maxsize=64)
def finfo(name: str) -> tuple[float, float, float]:
    """``(max, smallest_normal, eps)`` of a float dtype name (bfloat16 included), or of the
    parts of a complex one."""
    name = COMPLEX_PARTS.get(name, name)
    if name == "bfloat16":
        return 3.3895313892515355e38, 1.1754943508222875e-38, 2.0**-7
    info = np.finfo(np.dtype(name))
    return float(info.max), float(info.smallest_normal), float(info.eps)
