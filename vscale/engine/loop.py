"""The one chunk loop: positions of a stream, through a transform, into an output.

Every value of a call is a function of its global position alone.  A real element ``i``
takes the draw at position ``i`` of the call's stream; a complex element takes the two
draws at positions ``2i`` (modulus) and ``2i + 1`` (angle).  The loop cuts the elements
into chunks, asks the stream for the draws of each chunk's positions, transforms them
and hands the values to the output.  Chunks, threads and the choice between writing in
place and through a workspace only decide *where* the work happens, never which draw an
element gets, so values do not depend on the chunk size or the thread count.

Memory: the output is the caller's; the loop adds, per thread, one workspace chunk
(where the output cannot be transformed in place) and the transform's temporaries, a
few chunks.  The thread count is capped so that all of that stays below
:data:`WORKSPACE_SHARE` of the output, whatever the number of CPUs.

The loop knows no framework: the stream (:class:`Stream`) and the output (:class:`Output`)
are objects handed to it, built for the call by :mod:`vscale.engine.generate`.
"""

from __future__ import annotations

import math
import threading
from typing import Any, NamedTuple, Protocol

from ..core import portable
from ..core.complex import ComplexTransform, apply_complex, complex_from_normals
from ..core.portable import PortableTransform
from ..core.transforms import Transform, apply, apply_normal

Array = Any

#: Values per chunk where the transform runs on a CPU.  2**16 float32 values are
#: 256 KiB: the chunk and the transform's temporaries stay in a 1-2 MiB L2 cache, and
#: the per-operation overhead (~1 us) is under 2% of a pass.
HOST_CHUNK = 1 << 16
#: The portable transforms hold about three times the native ones' temporaries: a
#: quarter of the host chunk keeps them in the same cache.
PORTABLE_SHARE = 4
#: Values per chunk of a compiled host loop: a call costs a few microseconds, under 2%
#: of a chunk's time, and a narrow output's workspace stays cache-sized.
HOST_KERNEL_CHUNK = 1 << 16
#: Values per chunk on accelerators and functional namespaces, where each operation is
#: a kernel launch or a new array: few, large chunks (16 MiB of float32).
DEVICE_CHUNK = 1 << 22
#: Share of the output that a fused kernel's workspace (narrow outputs) may take.
KERNEL_WORKSPACE_SHARE = 0.06
#: Chunks of temporaries per thread, per transform: the arrays it holds at once besides
#: its input (measured with tracemalloc); one more where the chunk needs a workspace.
TEMPORARIES = {"uniform": 1, "untruncated_normal": 4, "truncated_normal": 4, "complex": 8, "portable": 8}
#: Chunks more where the output is narrower than the working dtype: the workspace, the
#: clipped values and their conversion.
NARROW_OUTPUT = 3
#: The threads' temporaries together stay below this share of the output, plus
#: :data:`WORKSPACE_FLOOR` bytes, so that outputs of a few MiB can use threads too.
WORKSPACE_SHARE = 0.05
WORKSPACE_FLOOR = 2**20


class Stream(Protocol):
    """A call's random source, addressed by position.

    ``draw(start, count, out)`` returns the uniform draws (on the grid ``k * eps/2`` of
    ``[0, 1)``) of positions ``start .. start + count - 1`` in the stream's dtype, written
    into ``out`` when ``out`` is given and the stream can (otherwise a new array).  With
    ``normal=True`` (only where :attr:`normals` is true) it returns standard normals
    instead.  A stream that is not :attr:`seekable` must be asked for its positions in
    increasing order, one range after the other; the loop then runs on one thread.
    The portable stream delivers JAX's grid ``k * eps`` instead, for its own transforms
    (:class:`~vscale.core.portable.PortableTransform`).  A stream may state the chunks
    of temporaries it holds while drawing in ``temporaries`` (counted in the thread budget).
    """

    seekable: bool
    normals: bool

    def draw(self, start: int, count: int, out: Array | None = None, *, normal: bool = False) -> Array: ...


class Output(Protocol):
    """Where the loop puts values: a new array, or an existing one filled in place."""

    def view(self) -> Array | None:
        """The output as a flat, writable array of the working dtype, or None."""

    def write(self, start: int, values: Array) -> None:
        """Store ``values`` (working dtype, or complex) as elements ``start ..``."""


class Job(NamedTuple):
    """What to compute: ``count`` elements of ``transform``'s distribution.

    ``working`` is the real dtype draws and transforms use; ``complex_dtype`` is set for
    complex outputs; ``in_place`` says whether the namespace can write into arrays (else
    every step returns a new array); ``output_bytes`` and ``threads`` bound the threads.
    """

    count: int  # type: ignore[assignment]  # shadows tuple.count, which nothing here uses
    transform: Transform | ComplexTransform | PortableTransform
    working: Any
    complex_dtype: Any | None
    in_place: bool
    chunk: int
    output_bytes: int
    device: Any = None
    threads: int = 1
    #: An adapter's fused kernel for the whole transform, ``kernel(draws) -> values``
    #: (in place), used instead of the core's operations (which stay the reference).
    kernel: Any = None
    #: An adapter's fused stream and transform, ``fused(start, count, out) -> values``:
    #: the values of positions ``start ..`` computed without any draws in memory.
    fused: Any = None

    @property
    def parts(self) -> int:
        return 1 if self.complex_dtype is None else 2


def run(job: Job, stream: Stream, output: Output, *, xp: Any) -> None:
    """Fill ``output`` with ``job``'s values from ``stream``; threads where they help."""
    if job.count <= job.chunk or job.threads <= 1:
        _fill_range(job, stream, output, xp, 0, job.count)
        return
    ranges = _ranges(job, stream, xp)
    if len(ranges) == 1:
        _fill_range(job, stream, output, xp, *ranges[0])
        return
    errors: list[BaseException] = []

    def work(start: int, stop: int) -> None:
        try:
            _fill_range(job, stream, output, xp, start, stop)
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    threads = []
    for start, stop in ranges:
        thread = threading.Thread(target=work, args=(start, stop), name="vscale", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no new threads (interpreter shutdown): do it here
            work(start, stop)
            continue
        threads.append(thread)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _ranges(job: Job, stream: Stream, xp: Any) -> list[tuple[int, int]]:
    """One contiguous element range per thread, on chunk boundaries."""
    chunks = math.ceil(job.count / job.chunk) if job.count else 1
    itemsize = xp.finfo(job.working).bits // 8
    per_thread = temporaries(job, stream, itemsize) * min(job.chunk, job.count) * itemsize * job.parts
    budget = WORKSPACE_SHARE * job.output_bytes + WORKSPACE_FLOOR
    affordable = int(budget // max(per_thread, 1))
    threads = min(job.threads, chunks, affordable) if stream.seekable and job.in_place else 1
    if threads <= 1:
        return [(0, job.count)]
    per_range = math.ceil(chunks / threads) * job.chunk
    return [(start, min(start + per_range, job.count)) for start in range(0, job.count, per_range)]


def temporaries(job: Job, stream: Stream, working_bytes: int) -> int:
    """Chunks of temporaries one thread holds for ``job`` (see :data:`TEMPORARIES`)."""
    narrow = job.output_bytes < job.count * working_bytes  # float16, bfloat16 outputs
    if job.fused is not None:  # no draws in memory: only the narrow output's workspace
        return NARROW_OUTPUT if narrow else 0
    own = getattr(stream, "temporaries", 0)
    if job.complex_dtype is not None:
        return TEMPORARIES["complex"] + own
    kind = "portable" if isinstance(job.transform, PortableTransform) else job.transform.kind
    if kind == "untruncated_normal" and stream.normals:
        kind = "uniform"  # scaled in place
    return TEMPORARIES[kind] + own + (NARROW_OUTPUT if narrow else 0)


def _fill_range(job: Job, stream: Stream, output: Output, xp: Any, start: int, stop: int) -> None:
    parts = job.parts
    normal = job.transform.kind == "untruncated_normal" and stream.normals
    view = output.view() if parts == 1 else None
    workspace = None
    for first in range(start, stop, job.chunk):
        size = min(job.chunk, stop - first)
        if view is not None:
            target = view[first : first + size]
        elif job.in_place:
            if workspace is None:
                workspace = xp.empty((parts * min(job.chunk, stop - start),), dtype=job.working, device=job.device)
            target = workspace[: parts * size]
        else:
            target = None
        if job.fused is not None:
            values = job.fused(first, size, target)
            if view is None or values is not target:
                output.write(first, values)
            continue
        draws = stream.draw(parts * first, parts * size, target, normal=normal)
        values = _transform(draws, job, normal, xp)
        if view is not None and values is draws and draws is target:
            continue
        output.write(first, values)


def _transform(draws: Array, job: Job, normal: bool, xp: Any) -> Array:
    transform = job.transform
    if isinstance(transform, ComplexTransform):
        first, second = draws[0::2], draws[1::2]
        if normal:
            return complex_from_normals(first, second, transform, job.complex_dtype, xp=xp)
        return apply_complex(first, second, transform, job.complex_dtype, xp=xp)
    if job.kernel is not None and not normal:
        return job.kernel(draws)
    if isinstance(transform, PortableTransform):
        return portable.apply(draws, transform, xp=xp)
    if normal:
        return apply_normal(draws, transform, xp=xp)
    return apply(draws, transform, xp=xp)
