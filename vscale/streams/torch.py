"""torch's native streams: PCG64 on the CPU, a ``torch.Generator`` per block on accelerators.

On the CPU a tensor's memory is shared with NumPy, so the host stream writes its draws
straight into it and the values are NumPy's, bit for bit.  On an accelerator the draws
come from a ``torch.Generator`` of that device, one per block of positions
(:mod:`vscale.streams.blocks`), seeded with 64 bits: nothing leaves the device.  Keys
come from a ``torch.Generator`` (the device's default one without ``generator=``), so
``torch.manual_seed`` governs unseeded initializers as it governs ``torch.nn.init``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend
from . import host
from .blocks import BlockStream
from .keys import key_from_words


def stream(backend: Backend, key: bytes, device: Any, working: Any, total: int) -> Any:
    if device.type == "cpu":
        return host.stream(backend, key, device, working, total)
    torch = backend.torch  # type: ignore[attr-defined]
    empty = lambda count: torch.empty((count,), dtype=working, device=device)  # noqa: E731
    return BlockStream(key, total, block_filler(torch, device), empty)


def block_filler(torch: Any, device: Any) -> Any:
    """Draws of one whole block from a ``torch.Generator`` on ``device`` seeded for it."""

    def fill(seed: int, out: Any, normal: bool) -> None:
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        if normal:
            out.normal_(generator=generator)
            return
        out.uniform_(generator=generator)
        # GPU kernels may return values finer than k * eps/2 near 0: snap onto the grid.
        step = torch.finfo(out.dtype).eps / 2
        out.div_(step).floor_().mul_(step)

    return fill


def key_from(backend: Backend, generator: Any, device: Any) -> bytes:
    torch = backend.torch  # type: ignore[attr-defined]
    if generator is not None and not isinstance(generator, torch.Generator):
        if isinstance(generator, np.random.Generator):
            return host.key_from(backend, generator, device)
        raise TypeError(
            "Argument `generator` must be None, a torch.Generator or a numpy.random.Generator on the torch "
            f"backend; received an object of type {type(generator).__name__}."
        )
    where = generator.device if generator is not None else device
    words = torch.randint(0, 2**32, (4,), dtype=torch.int64, generator=generator, device=where).tolist()
    return key_from_words(words)


def seeks(backend: Backend, device: Any) -> bool:
    return bool(device.type == "cpu")  # accelerators draw whole blocks of 2**22
