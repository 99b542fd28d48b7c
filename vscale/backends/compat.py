"""The one place that imports array-api-compat.

Everything in vscale that needs to recognise an array library or obtain a standard
namespace asks this module.  None of these helpers imports a framework: detection goes
through ``sys.modules`` inside array-api-compat.
"""

from __future__ import annotations

import sys
from typing import Any

from array_api_compat import (
    array_namespace,
    device,
    is_array_api_obj,
    is_array_api_strict_namespace,
    is_cupy_array,
    is_cupy_namespace,
    is_jax_array,
    is_jax_namespace,
    is_numpy_array,
    is_numpy_namespace,
    is_torch_array,
    is_torch_namespace,
    is_writeable_array,
)

__all__ = [
    "array_namespace",
    "device",
    "is_array_api_obj",
    "is_array_api_strict_namespace",
    "is_cupy_array",
    "is_cupy_namespace",
    "is_jax_array",
    "is_jax_namespace",
    "is_numpy_array",
    "is_numpy_namespace",
    "is_torch_array",
    "is_torch_namespace",
    "is_dtensor",
    "is_writeable_array",
    "standard_namespace",
]


def is_dtensor(array: Any) -> bool:
    """Whether ``array`` is a ``torch.distributed.tensor.DTensor`` (imports nothing: a
    DTensor can only exist once its module is loaded)."""
    api = sys.modules.get("torch.distributed.tensor")
    dtensor = getattr(api, "DTensor", None)
    return dtensor is not None and isinstance(array, dtensor)


def standard_namespace(module: Any) -> Any:
    """The array-API-compatible namespace for a framework module or namespace.

    ``numpy``, ``torch`` and ``cupy`` (and array-api-compat's wrappers of them) map to
    array-api-compat's wrapper; any other namespace is returned as it is.
    """
    if is_numpy_namespace(module):
        import array_api_compat.numpy as compat_numpy  # lazy: each wrapper imports its framework

        return compat_numpy
    if is_torch_namespace(module):
        import array_api_compat.torch as compat_torch  # lazy: imports torch

        return compat_torch
    if is_cupy_namespace(module):
        import array_api_compat.cupy as compat_cupy  # lazy: imports cupy

        return compat_cupy
    return module
