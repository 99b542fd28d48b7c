"""Backend adapters, one small class per array library, found without importing any.

``get_backend(xp)`` takes ``None`` (NumPy), a framework module or array-API namespace,
or a name (``"numpy"``, ``"torch"``, ``"cupy"``, ``"jax"``, ``"array_api_strict"``).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

from .base import Backend
from .compat import is_cupy_namespace, is_jax_namespace, is_numpy_namespace, is_torch_namespace
from .cupy import CupyBackend
from .generic import GenericBackend
from .jax import JaxBackend
from .numpy import NumpyBackend
from .torch import TorchBackend

__all__ = ["Backend", "get_backend", "BACKEND_NAMES"]

BACKEND_NAMES = ("numpy", "torch", "cupy", "jax", "array_api_strict")
#: Modules imported for a backend name.
_MODULES = {"jax": "jax.numpy"}

_cache: dict[int, Backend] = {}
_lock = threading.Lock()


def get_backend(xp: Any = None) -> Backend:
    """The adapter for ``xp`` (see the module docstring); ``ValueError``/``TypeError`` otherwise."""
    if xp is None:
        xp = "numpy"
    if isinstance(xp, str):
        xp = _import_by_name(xp)
    if not _looks_like_namespace(xp):
        raise TypeError(
            f"Argument `xp` must be None, an array namespace or module, or one of {BACKEND_NAMES}; "
            f"received {xp!r} of type {type(xp).__name__}."
        )
    key = id(xp)
    backend = _cache.get(key)
    if backend is None:
        with _lock:
            backend = _cache.setdefault(key, _make_backend(xp))
    return backend


def _make_backend(xp: Any) -> Backend:
    if is_numpy_namespace(xp):
        return NumpyBackend(xp)
    if is_torch_namespace(xp):
        return TorchBackend(xp)
    if is_cupy_namespace(xp):
        return CupyBackend(xp)
    if is_jax_namespace(xp):
        return JaxBackend(xp)
    return GenericBackend(xp)


def _import_by_name(name: str) -> ModuleType:
    if name not in BACKEND_NAMES:
        raise ValueError(
            f"Argument `xp` names an unknown backend: received xp={name!r}; expected one of {BACKEND_NAMES}."
        )
    try:
        return importlib.import_module(_MODULES.get(name, name))
    except ImportError as error:
        raise ValueError(f"Argument `xp`={name!r} names a backend that is not installed: {error}.") from None


def _looks_like_namespace(xp: Any) -> bool:
    if not isinstance(xp, ModuleType) and not hasattr(xp, "__array_namespace_info__"):
        return False
    known = is_numpy_namespace(xp) or is_torch_namespace(xp) or is_cupy_namespace(xp) or is_jax_namespace(xp)
    return known or hasattr(xp, "__array_namespace_info__")
