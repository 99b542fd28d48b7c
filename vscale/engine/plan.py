"""A call's plan: everything its key and its target do not change, decided once.

From the checked arguments the public layer hands down (backend, shape, dtype, device,
transform, region), the plan fixes where the arithmetic runs, the chunk size for the
device, the threads, the compiled kernel if there is one, and the region's positions.
An initializer keeps the plans of the shapes it has seen, so a small repeated call does
none of this again.  :func:`vscale.engine.generate.generate` carries a plan out.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from .. import kernels
from ..backends import Backend
from ..core.complex import ComplexTransform
from ..core.portable import PortableTransform
from ..core.precision import working_name
from ..core.regions import Box, Positions
from ..core.transforms import Transform
from ..kernels.host import enabled as kernels_enabled
from . import loop


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
    job: loop.Job
    #: The job with the compiled kernel's chunks and threads, where one may run.
    compiled: loop.Job | None
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
    chunk = loop.HOST_CHUNK if on_host else loop.DEVICE_CHUNK
    if threefry and on_host:
        chunk = max(1, loop.HOST_CHUNK // loop.PORTABLE_SHARE)
    compiled_loops = bool(count) and not is_complex and kernels_enabled()
    kernel = None
    if compiled_loops and not threefry:
        kernel = kernels.transform_kernel(backend, transform, working_name(name), device)
    fused_kernels = compiled_loops and threefry
    job = loop.Job(
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
            chunk=loop.HOST_KERNEL_CHUNK if on_host else max(loop.DEVICE_CHUNK, count),
            threads=thread_count() if on_host and backend.parallel(device) else 1,
        )
    positions = None if region is None else Positions(region, whole, 2 if is_complex else 1)
    return CallPlan(
        backend, whole, dims, count, native, device, transform, name, (compute_xp, compute_device), working, job,
        compiled, threefry, fused_kernels, on_host, region, positions,
    )  # fmt: skip
