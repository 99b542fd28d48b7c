"""One call, from checked arguments to an array: the public layer's bridge to the engine.

Builds the engine's job (chunk size for the device, thread budget), asks the adapter for
the call's stream and for an output (a new array, the array being filled, or pieces for
immutable namespaces), and runs :func:`vscale.core.engine.run`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CallPlan:
    """Everything about a call that its key and its target do not change, decided once.

    Built by :func:`plan` when an initializer first sees a shape, dtype, namespace and
    device (it keeps the plan), and carried down by :func:`generate` for every call:
    the chunk size, the threads, the compiled kernel and the engine's job are not worked
    out again for each small call.
    """

    backend: Backend
    whole: tuple[int, ...]
    dims: tuple[int, ...]
    count: int
    native: Any
    device: Any
    transform: Transform | ComplexTransform | PortableTransform
    name: str
    compute: tuple[Any, Any]
    working: Any
    job: engine.Job
    #: The job with the compiled kernel's chunks and threads, where one may run.
    compiled: engine.Job | None
    threefry: bool
    fused_kernels: bool
    on_host: bool
    region: Box | None
    positions: Positions | None


def plan(
    backend: Backend,
    dims: tuple[int, ...],
    name: str,
    native: Any,
    device: Any,
    transform: Transform | ComplexTransform | PortableTransform,
    itemsize: int,
    *,
    threefry: bool = False,
    region: Box | None = None,
) -> CallPlan:
    """The :class:`CallPlan` of ``dims``-shaped values of ``transform`` (``region`` of them, if given)."""
    whole = dims
    if region is not None:
        dims = region.sizes
    count = math.prod(dims)
    is_complex = isinstance(transform, ComplexTransform)
    compute_xp, compute_device = backend.compute(device)
    working = backend.working_dtype(working_name(name), device)
    on_host = backend.on_host(device)
    chunk = engine.HOST_CHUNK if on_host else engine.DEVICE_CHUNK
    if threefry and on_host:
        chunk = max(1, engine.HOST_CHUNK // engine.PORTABLE_SHARE)
    kernels = bool(count) and not is_complex and kernels_enabled()
    kernel = None
    if kernels and not threefry:
        kernel = backend.transform_kernel(transform, working_name(name), device)
    fused_kernels = kernels and threefry
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
    )
    compiled = None
    if kernel is not None or fused_kernels:
        # A compiled loop: no temporaries but its scratch, and on the host it releases the
        # GIL, so chunks for the threads; on a device, chunks as large as the output.
        compiled = job._replace(
            kernel=kernel,
            chunk=engine.HOST_KERNEL_CHUNK if on_host else max(engine.DEVICE_CHUNK, count),
            threads=thread_count() if on_host and backend.parallel(device) else 1,
        )
    positions = None if region is None else Positions(region, whole, 2 if is_complex else 1)
    return CallPlan(
        backend, whole, dims, count, native, device, transform, name, (compute_xp, compute_device), working, job,
        compiled, threefry, fused_kernels, on_host, region, positions,
    )  # fmt: skip


def generate(call: CallPlan, key: bytes, target: Any = None) -> Any:
    """The call's values from the stream of ``key``: written into ``target`` (an existing
    array, already checked) and returned, or a new array of the plan's dtype and device.
    ``key`` is a Threefry key (8 bytes) for portable plans, else the native stream's."""
    backend, count = call.backend, call.count
    job = call.compiled if call.compiled is not None and call.compiled.kernel is not None else call.job
    words = bytes_to_words(key) if call.threefry else None
    if words is not None and call.compiled is not None:
        name, region = working_name(call.name), call.region
        fused = backend.fused_portable(words, call.transform, name, region, call.whole, call.device)
        if fused is not None:  # else (short rows of a region) the array operations
            job = call.compiled._replace(fused=fused)
    flat = None
    if target is not None:
        alias = backend.flat_alias(target)
        output: Any = (
            FlatOutput(backend, alias, call.working)
            if alias is not None
            else RegionOutput(backend, target, call.compute[0])
        )
    elif backend.mutable:
        flat = backend.empty(count, call.native, call.device)
        output = FlatOutput(backend, flat, call.working)
    else:
        output = PiecesOutput(backend, call.native)
    compiled = job.fused is not None or job.kernel is not None
    if compiled and not call.on_host and output.view() is None:
        # A device kernel writing through a workspace: KERNEL_WORKSPACE_SHARE of the output.
        workspace = int(engine.KERNEL_WORKSPACE_SHARE * job.output_bytes) // itemsize_of(working_name(call.name))
        job = job._replace(chunk=max(engine.DEVICE_CHUNK, workspace))
    if count:
        stream = COMPUTED_IN_KERNEL if job.fused is not None else _stream(call, key, words)
        engine.run(job, stream, output, xp=call.compute[0])
    if target is not None:
        backend.finish_fill(target)
        return target
    if flat is None:
        flat = output.result() if count else backend.xp.empty((0,), dtype=call.native, device=call.device)
    return backend.finalize(backend.reshape(flat, call.dims), call.device)


class _ComputedInKernel:
    """The stream of a call whose fused kernel computes its bits from positions: never drawn from."""

    seekable = True
    normals = False
    temporaries = 0

    def draw(self, start: int, count: int, out: Any = None, *, normal: bool = False) -> Any:
        raise AssertionError("a fused kernel's call draws nothing")


COMPUTED_IN_KERNEL = _ComputedInKernel()


def _stream(call: CallPlan, key: bytes, words: tuple[int, int] | None) -> Any:
    """The call's stream: Threefry of ``words`` where given, else the adapter's native one
    (drawn by runs of positions for a region)."""
    backend, device, (compute_xp, compute_device) = call.backend, call.device, call.compute
    parts = 1 if call.job.complex_dtype is None else 2
    if words is not None:
        word, index = backend.threefry_dtypes(compute_xp, device)
        grid = "jax" if parts == 1 else "centred"
        operand = backend.threefry_word(device)
        return ThreefryStream(
            words, compute_xp, compute_device, call.working, word, grid, call.positions, index, operand
        )
    stream = backend.stream(key, device, call.working, math.prod(call.whole) * parts)
    return stream if call.positions is None else RegionStream(stream, call.positions, compute_xp)
