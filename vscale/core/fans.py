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
"""

from __future__ import annotations

import math
from typing import Literal

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
