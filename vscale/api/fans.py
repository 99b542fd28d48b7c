"""``vscale.compute_fans``: the public, validating entry point to the core's fan rules."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.fans import Layout, fans_of
from .validation import validate_fan_arguments, validate_shape


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
