"""Facts about the output dtypes, by name: sizes, ranges, the working dtype, rounding to a dtype.

Pure host arithmetic on NumPy scalars (bfloat16 included, which NumPy lacks): the
public layer checks values against these ranges, and the transforms' constants are
rounded with them, on every backend alike.
"""

from __future__ import annotations

import functools
import math

import numpy as np

#: Complex dtype names and the real dtype of their parts.
COMPLEX_PARTS = {"complex64": "float32", "complex128": "float64"}


def is_complex(name: str) -> bool:
    """Whether a dtype name is a complex dtype."""
    return name in COMPLEX_PARTS


@functools.lru_cache(maxsize=1024)
def largest_at_most(value: float, name: str) -> float:
    """The largest number of dtype ``name`` that is ``<= value`` (``value >= 0``).

    Clipping at this bound in float32/float64 keeps the final rounding to ``name`` inside
    ``[-value, value]``: rounding is monotone and the bound is representable.
    """
    if math.isinf(value):
        return value
    if name == "bfloat16":
        # bfloat16 is float32 with the low 16 bits dropped; dropping them rounds toward 0.
        as_float32 = np.float32(largest_at_most(value, "float32"))
        bits = np.array(as_float32).view(np.uint32) & np.uint32(0xFFFF0000)
        return float(bits.view(np.float32))
    target = np.dtype(name).type
    rounded = target(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, target(0))
    return float(rounded)


def itemsize(name: str) -> int:
    """Bytes per value of a dtype name (bfloat16 and complex included)."""
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


def working_name(name: str) -> str:
    """The real dtype the transforms compute in for an output dtype name."""
    return "float64" if name in ("float64", "complex128") else "float32"


@functools.lru_cache(maxsize=64)
def finfo(name: str) -> tuple[float, float, float]:
    """``(max, smallest_normal, eps)`` of a float dtype name (bfloat16 included), or of the
    parts of a complex one."""
    name = COMPLEX_PARTS.get(name, name)
    if name == "bfloat16":
        return 3.3895313892515355e38, 1.1754943508222875e-38, 2.0**-7
    info = np.finfo(np.dtype(name))
    return float(info.max), float(info.smallest_normal), float(info.eps)
