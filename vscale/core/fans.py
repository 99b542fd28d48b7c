"""Fan-in and fan-out of a weight shape, by Keras' rule."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._validation import validate_shape


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a weight of the given shape, as Keras does.

    Rank 0 gives ``(1, 1)``; rank 1 gives ``(n, n)``; rank 2 ``(rows, columns)``; a
    higher rank is read as a convolution kernel ``(*receptive_field, in, out)``, so both
    fans are multiplied by the product of the leading axes.

    Parameters
    ----------
    shape : sequence of int
        The weight shape (non-negative integers).

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
    """
    dims = validate_shape(shape)
    if len(dims) == 0:
        return 1, 1
    if len(dims) == 1:
        return dims[0], dims[0]
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive_field = math.prod(dims[:-2])
    return dims[-2] * receptive_field, dims[-1] * receptive_field
