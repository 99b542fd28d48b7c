"""Fan-in and fan-out of a weight shape: Keras' rule, explicit axes, and the PyTorch layouts.

Which axis holds the inputs and which the outputs depends on where the weight comes from:

============================  ===============================  ===================================
``layout``                    weight shape                     example
============================  ===============================  ===================================
``"keras"`` (default)         ``(*kernel, in/groups, out)``    Keras ``Dense``/``Conv*D``, JAX/Flax
``"torch"``                   ``(out, in/groups, *kernel)``    ``nn.Linear``, ``nn.Conv*d``
``"torch_transposed"``        ``(in, out/groups, *kernel)``    ``nn.ConvTranspose*d``
============================  ===============================  ===================================

Each output unit of a grouped convolution sees ``in/groups`` input channels and each
input unit feeds ``out/groups`` output channels, so ``groups`` divides the fan of the
axis that stores the full channel count: ``fan_out`` for ``"keras"`` and ``"torch"``,
``fan_in`` for ``"torch_transposed"``.  A depthwise convolution (``groups == in``)
therefore has ``fan_in = fan_out = kernel size`` (times the channel multiplier for
``fan_out``); ``torch.nn.init`` multiplies its ``fan_out`` by the channel count instead.

:func:`receptive_fans` is ``jax.nn.initializers``' rule, with input, output and batch axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

Layout = Literal["keras", "torch", "torch_transposed"]


def fans_of(
    dims: tuple[int, ...],
    input_axes: tuple[int, ...] | None,
    output_axes: tuple[int, ...] | None,
    layout: str,
    groups: int,
) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of ``dims`` for already validated layout arguments.

    The public, validating entry point is :func:`vscale.compute_fans`.
    """
    if input_axes is not None and output_axes is not None:
        fan_in = math.prod(dims[a] for a in _normalize_axes("input_axes", input_axes, dims))
        fan_out = math.prod(dims[a] for a in _normalize_axes("output_axes", output_axes, dims))
        return fan_in, fan_out
    if len(dims) < 2:
        if groups != 1:
            raise ValueError(
                f"Argument `groups` applies to weights of rank 2 or more; received groups={groups} for shape={dims}."
            )
        return (1, 1) if not dims else (dims[0], dims[0])
    if layout == "keras":
        receptive_field, stored_in, stored_out, grouped = math.prod(dims[:-2]), dims[-2], dims[-1], "out"
    else:
        receptive_field = math.prod(dims[2:])
        first, second = dims[0], dims[1]
        if layout == "torch":
            stored_in, stored_out, grouped = second, first, "out"
        else:
            stored_in, stored_out, grouped = first, second, "in"
    full = stored_out if grouped == "out" else stored_in
    if full % groups:
        raise ValueError(
            f"Argument `groups`={groups} must divide the {grouped}put-channel axis of a weight in the "
            f"{layout!r} layout; received shape={dims}, whose {grouped}put-channel axis has size {full}."
        )
    if grouped == "out":
        stored_out //= groups
    else:
        stored_in //= groups
    return stored_in * receptive_field, stored_out * receptive_field


def receptive_fans(
    dims: tuple[int, ...], in_axis: int | Sequence[int], out_axis: int | Sequence[int], batch_axis: int | Sequence[int]
) -> tuple[float, float]:
    """``(fan_in, fan_out)`` by ``jax.nn.initializers``' rule, in its float arithmetic.

    The sizes of ``in_axis`` and ``out_axis`` (an axis or a sequence of axes, whose sizes
    multiply) times the receptive field: the product of the axes in none of the three
    arguments, which JAX computes as ``prod(dims) / in / out / batch`` (Python floats,
    in that order, so that the fans are JAX's to the last bit).  A shape with a zero in
    those axes has fans ``(0.0, 0.0)`` (JAX divides by zero).  An axis outside the shape
    raises NumPy's ``AxisError`` (a ``ValueError`` and an ``IndexError``, which is what
    JAX raises).
    """
    if isinstance(in_axis, int) and in_axis == -2 and len(dims) <= 1:
        # JAX's message, word for word.
        raise ValueError(
            f"Can't compute input and output sizes of a {len(dims)}-dimensional weights tensor with default "
            "in_axis. Must be at least 2D or specify in_axis explicitly."
        )
    in_size, out_size, batch_size = (
        _axes_size(name, axes, dims)
        for name, axes in (("in_axis", in_axis), ("out_axis", out_axis), ("batch_axis", batch_axis))
    )
    if in_size * out_size * batch_size == 0:
        return 0.0, 0.0
    receptive_field = math.prod(dims) / in_size / out_size / batch_size
    return in_size * receptive_field, out_size * receptive_field


def _axes_size(name: str, axes: int | Sequence[int], dims: tuple[int, ...]) -> int:
    rank = len(dims)
    listed = [axes] if isinstance(axes, int) else list(axes)
    bad = [a for a in listed if not -rank <= a < rank]
    if bad:
        allowed = f"allowed are -{rank} to {rank - 1}" if rank else "a weight of rank 0 has no axes"
        raise np.exceptions.AxisError(
            f"Argument `{name}`={axes!r} has axes {bad} out of range for a weight of shape={dims} "
            f"(rank {rank}); {allowed}."
        )
    return math.prod(dims[a] for a in listed)


def _normalize_axes(name: str, axes: tuple[int, ...], dims: tuple[int, ...]) -> tuple[int, ...]:
    rank = len(dims)
    bad = [a for a in axes if not -rank <= a < rank]
    if bad:
        raise ValueError(
            f"Argument `{name}`={list(axes)} has axes {bad} out of range for a weight of shape={dims} "
            f"(rank {rank}); allowed are -{rank} to {rank - 1}."
        )
    normalized = tuple(a % rank for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"Argument `{name}`={list(axes)} names an axis twice for a weight of shape={dims}.")
    return normalized
