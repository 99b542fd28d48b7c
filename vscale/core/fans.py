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
from collections.abc import Sequence
from typing import Literal

from .._validation import validate_fan_arguments, validate_shape

Layout = Literal["keras", "torch", "torch_transposed"]


def compute_fans(
    shape: Sequence[int],
    input_axes: Sequence[int] | int | None = None,
    output_axes: Sequence[int] | int | None = None,
    *,
    layout: Layout = "keras",
    groups: int = 1,
) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a weight of the given shape.

    By default this is Keras' rule: rank 0 gives ``(1, 1)``; rank 1 gives ``(n, n)``;
    rank 2 ``(rows, columns)``; a higher rank is read as a convolution kernel
    ``(*receptive_field, in, out)``, so both fans are multiplied by the product of the
    leading axes.  ``layout`` and ``groups`` choose another layout (see the module
    docstring); ``input_axes``/``output_axes`` name the axes directly.

    Parameters
    ----------
    shape : sequence of int
        The weight shape (non-negative integers).
    input_axes, output_axes : sequence of int, optional
        As in Keras 3: when *both* are given, ``fan_in`` is the product of the sizes of
        ``input_axes`` and ``fan_out`` that of ``output_axes`` (negative axes count from
        the end; other axes are ignored).  When only one is given, Keras ignores it and
        so does this function, with a ``UserWarning``.  Excludes ``layout``/``groups``.
    layout : {"keras", "torch", "torch_transposed"}, default "keras"
        Where the input and output channels are.
    groups : int, default 1
        Number of groups of a grouped convolution (the number of channels for a
        depthwise one); must divide the full channel axis.

    Returns
    -------
    tuple of int
        ``(fan_in, fan_out)`` as Python ints (exact, never rounded through floats).

    Examples
    --------
    >>> import vscale
    >>> vscale.compute_fans((3, 3, 64, 128))
    (576, 1152)
    >>> vscale.compute_fans((10,))
    (10, 10)
    >>> vscale.compute_fans((128, 64, 3, 3), layout="torch")
    (576, 1152)
    >>> vscale.compute_fans((32, 1, 3, 3), layout="torch", groups=32)  # depthwise
    (9, 9)
    >>> vscale.compute_fans((64, 8, 32), input_axes=[0], output_axes=[1, 2])  # einsum kernel
    (64, 256)
    """
    dims = validate_shape(shape)
    return fans_of(dims, *validate_fan_arguments(input_axes, output_axes, layout, groups))


def fans_of(
    dims: tuple[int, ...],
    input_axes: tuple[int, ...] | None,
    output_axes: tuple[int, ...] | None,
    layout: str,
    groups: int,
) -> tuple[int, int]:
    """:func:`compute_fans` on arguments that have already been validated."""
    if input_axes is not None and output_axes is not None:
        fan_in = math.prod(dims[a] for a in _normalize_axes("input_axes", input_axes, dims))
        fan_out = math.prod(dims[a] for a in _normalize_axes("output_axes", output_axes, dims))
        return fan_in, fan_out
    if len(dims) < 2:
        if groups != 1:
            raise ValueError(
                f"Argument `groups` applies to weights of rank 2 or more; received groups={groups} "
                f"for shape={dims}."
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
