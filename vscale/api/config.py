"""The process-wide default float dtype, as in Keras' ``floatx``/``set_floatx``."""

from __future__ import annotations

import threading

FLOAT_NAMES: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")

_lock = threading.Lock()
_floatx = "float32"


def floatx() -> str:
    """Return the default float dtype name used when ``dtype=None`` (``"float32"``).

    Examples
    --------
    >>> import vscale
    >>> vscale.floatx()
    'float32'
    """
    return _floatx


def set_floatx(value: str) -> None:
    """Set the default float dtype name used when ``dtype=None``.

    Parameters
    ----------
    value : {"float16", "bfloat16", "float32", "float64"}

    Examples
    --------
    >>> import vscale
    >>> vscale.set_floatx("float64")
    >>> vscale.floatx()
    'float64'
    >>> vscale.set_floatx("float32")
    """
    global _floatx
    if not isinstance(value, str) or value not in FLOAT_NAMES:
        raise ValueError(f"Argument `value` of set_floatx must be one of {FLOAT_NAMES}; received {value!r}.")
    with _lock:
        _floatx = value
