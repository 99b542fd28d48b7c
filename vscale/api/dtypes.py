"""Dtype arguments: names, backend dtype objects and the default (`floatx`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend
from ..core.precision import COMPLEX_PARTS
from .config import FLOAT_NAMES, floatx

_NON_FLOAT_NAMES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
}  # fmt: skip


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


_ALL_NAMES = FLOAT_NAMES + tuple(COMPLEX_PARTS)
