"""One call, from checked arguments to an array: the public layer's bridge to the engine.

Builds the engine's job (chunk size for the device, thread budget), asks the adapter for
the call's stream and for an output (a new array, the array being filled, or pieces for
immutable namespaces), and runs :func:`vscale.core.engine.run`.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from typing import Any

from ._dtypes import itemsize as itemsize_of
from ._dtypes import working_name
from ._threefry import bytes_to_words
from .backends import Backend
from .backends._host_kernels import enabled as kernels_enabled
from .backends._outputs import FlatOutput, PiecesOutput, RegionOutput
from .backends._threefry import Positions, RegionStream, ThreefryStream
from .core import engine
from .core.complex import ComplexTransform
from .core.portable import PortableTransform
from .core.regions import Box
from .core.transforms import Transform


def thread_count() -> int:
    """Threads for host backends: ``VSCALE_NUM_THREADS``, else the CPUs this process may use.

    A value that is not a plain positive decimal integer is ignored.
    """
    configured = os.environ.get("VSCALE_NUM_THREADS", "").strip()
    if configured.isascii() and configured.isdigit() and int(configured) > 0:
        return int(configured)
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def generate(
    backend: Backend,
    dims: tuple[int, ...],
    name: str,
    native: Any,
    device: Any,
    transform: Transform | ComplexTransform | PortableTransform,
    key: bytes,
    itemsize: int,
    target: Any = None,
    *,
    threefry: bool = False,
    region: Box | None = None,
) -> Any:
    """``dims``-shaped values of ``transform`` from the stream of ``key``.

    With ``target`` (an existing array, already checked), the values are written into it
    and it is returned; otherwise a new array of dtype ``native`` on ``device``.
    ``threefry``: ``key`` is a Threefry key (8 bytes), else the native stream's.  With
    ``region``, only that box of the ``dims``-shaped call is computed and returned.
    """
    whole = dims
    if region is not None:
        dims = region.sizes
    count = math.prod(dims)
    is_complex = isinstance(transform, ComplexTransform)
    compute_xp, compute_device = backend.compute(device)
    working = backend.working_dtype(working_name(name), device)
    parts = 2 if is_complex else 1
    chunk = engine.HOST_CHUNK if backend.on_host(device) else engine.DEVICE_CHUNK
    if threefry and backend.on_host(device):
        chunk = max(1, engine.HOST_CHUNK // engine.PORTABLE_SHARE)
    words = bytes_to_words(key) if threefry else None
    kernel = fused = None
    if count and not is_complex and kernels_enabled():
        if words is not None:
            fused = backend.fused_portable(words, transform, working_name(name), region, whole, device)
        else:
            kernel = backend.transform_kernel(transform, working_name(name), device)
    flat = None
    if target is not None:
        alias = backend.flat_alias(target)
        output: Any = (
            FlatOutput(backend, alias, working) if alias is not None else RegionOutput(backend, target, compute_xp)
        )
    elif backend.mutable:
        flat = backend.empty(count, native, device)
        output = FlatOutput(backend, flat, working)
    else:
        output = PiecesOutput(backend, native)
    job = engine.Job(
        count=count,
        transform=transform,
        working=working,
        complex_dtype=backend.working_dtype(name, device) if is_complex else None,
        in_place=backend.mutable,
        chunk=chunk,
        output_bytes=count * itemsize,
        device=compute_device,
        # As array operations the portable stream is ~190 small passes a chunk: measured on 2
        # cores, two threads convoy on the GIL between them and take 1.5x one thread's time.
        threads=thread_count() if count > 2 * chunk and backend.parallel(device) and not threefry else 1,
        kernel=kernel,
        fused=fused,
    )
    if (kernel is not None or fused is not None) and backend.on_host(device):
        # A compiled loop that releases the GIL: chunks for the threads, no temporaries.
        threads = thread_count() if backend.parallel(device) else 1
        job = replace(job, chunk=engine.HOST_KERNEL_CHUNK, threads=threads)
    elif kernel is not None or fused is not None:
        # One kernel per chunk and no temporaries: chunks as large as the output where it
        # is written in place, else a workspace of KERNEL_WORKSPACE_SHARE of the output.
        writes_in_place = output.view() is not None
        workspace = int(engine.KERNEL_WORKSPACE_SHARE * job.output_bytes) // itemsize_of(working_name(name))
        job = replace(job, chunk=count if writes_in_place else max(engine.DEVICE_CHUNK, workspace))
    if count:
        positions = None if region is None else Positions(region, whole, parts)
        computed = (compute_xp, compute_device)
        stream = _stream(backend, key, words, device, computed, working, whole, parts, positions, is_complex)
        engine.run(job, stream, output, xp=compute_xp)
    if target is not None:
        backend.finish_fill(target)
        return target
    xp = backend.xp
    if flat is None:
        flat = output.result() if count else xp.empty((0,), dtype=native, device=device)
    return backend.finalize(backend.reshape(flat, dims), device)


def _stream(
    backend: Backend,
    key: bytes,
    words: tuple[int, int] | None,
    device: Any,
    computed: tuple[Any, Any],
    working: Any,
    whole: tuple[int, ...],
    parts: int,
    positions: Positions | None,
    is_complex: bool,
) -> Any:
    """The call's stream: Threefry of ``words`` where given, else the adapter's native one
    (drawn by runs of positions for a region).  ``computed`` is ``backend.compute(device)``."""
    compute_xp, compute_device = computed
    if words is not None:
        word, index = backend.threefry_dtypes(compute_xp, device)
        grid = "centred" if is_complex else "jax"
        return ThreefryStream(words, compute_xp, compute_device, working, word, grid, positions, index)
    stream = backend.stream(key, device, working, math.prod(whole) * parts)
    return stream if positions is None else RegionStream(stream, positions, compute_xp)
