"""A call's random stream, addressed by position: its framework's native one, and its key.

:func:`native` gives the native stream of a call's key on a backend and device;
:func:`key_from` draws a call's key from a framework generator; :func:`seeks` says
whether the native stream draws a short range at the cost of its length (so that
``region=`` works without ``prng="threefry"``).  The portable stream needs no framework
and lives with the core (:class:`vscale.core.threefry.ThreefryStream`); the keys of both
are derived in :mod:`vscale.streams.keys`.

Each framework's module (:mod:`~vscale.streams.host`, :mod:`~vscale.streams.torch`,
:mod:`~vscale.streams.cupy`, :mod:`~vscale.streams.jax`) has the same three functions.
"""

from __future__ import annotations

from typing import Any

from ..backends import Backend
from . import cupy, host, jax, torch
from .keys import jax_key_words, words_to_bytes

#: The stream module of each framework; any other namespace draws the host stream.
_BY_FRAMEWORK = {"numpy": host, "torch": torch, "cupy": cupy, "jax": jax}


def native(backend: Backend, key: bytes, device: Any, working: Any, total: int) -> Any:
    """The call's native stream of ``total`` positions, in the compute dtype ``working``."""
    return _BY_FRAMEWORK.get(backend.framework_name, host).stream(backend, key, device, working, total)


def key_from(backend: Backend, generator: Any, device: Any, *, portable: bool = False) -> bytes:
    """A call's key drawn from ``generator``, or from the framework's global generator if None.

    Native keys are 16 bytes; a portable key is 8: a JAX key's own words where
    ``generator`` is one (so that the call is JAX's with that key), else the first 8
    bytes of a drawn key.
    """
    if portable and generator is not None:
        words = jax_key_words(generator)
        if words is not None:
            return words_to_bytes(words)
    key = _BY_FRAMEWORK.get(backend.framework_name, host).key_from(backend, generator, device)
    return key[:8] if portable else key


def seeks(backend: Backend, device: Any) -> bool:
    """Whether the native stream on ``device`` computes a range alone at the cost of its length."""
    return _BY_FRAMEWORK.get(backend.framework_name, host).seeks(backend, device)
