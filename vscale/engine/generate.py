"""Carrying out a call's plan: its stream, its output, the loop, the finished array.

:func:`generate` takes a :class:`~vscale.engine.plan.CallPlan` and the call's key, picks
the stream (the fused kernel's, the portable one or the framework's native one) and
the output (a new array, the array being filled, or pieces for immutable namespaces),
and runs :func:`vscale.engine.loop.run`.
"""

from __future__ import annotations

import math
from typing import Any

from .. import kernels, streams
from ..core.precision import itemsize as itemsize_of
from ..core.precision import working_name
from ..core.threefry import ThreefryStream
from ..streams.keys import bytes_to_words
from ..streams.regions import RegionStream
from . import loop
from .outputs import FlatOutput, PiecesOutput, RegionOutput
from .plan import CallPlan


def generate(call: CallPlan, key: bytes, target: Any = None) -> Any:
    """The call's values from the stream of ``key``: written into ``target`` (an existing
    array, already checked) and returned, or a new array of the plan's dtype and device.
    ``key`` is a Threefry key (8 bytes) for portable plans, else the native stream's."""
    backend, count = call.backend, call.count
    job = call.compiled if call.compiled is not None and call.compiled.kernel is not None else call.job
    words = bytes_to_words(key) if call.threefry else None
    if words is not None and call.compiled is not None:
        name, region = working_name(call.name), call.region
        fused = kernels.fused_portable(backend, words, call.transform, name, region, call.whole, call.device)
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
        workspace = int(loop.KERNEL_WORKSPACE_SHARE * job.output_bytes) // itemsize_of(working_name(call.name))
        job = job._replace(chunk=max(loop.DEVICE_CHUNK, workspace))
    if count:
        stream = COMPUTED_IN_KERNEL if job.fused is not None else _stream(call, key, words)
        loop.run(job, stream, output, xp=call.compute[0])
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
    stream = streams.native(backend, key, device, call.working, math.prod(call.whole) * parts)
    return stream if call.positions is None else RegionStream(stream, call.positions, compute_xp)
