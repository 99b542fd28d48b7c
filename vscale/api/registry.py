"""``vscale.get``, ``vscale.serialize`` and ``vscale.init_``: initializers by name, config or Keras-style dict."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from .family import PRESETS
from .initializers import VarianceScaling

ArrayT = TypeVar("ArrayT")

_CLASSES: tuple[type[VarianceScaling], ...] = (VarianceScaling, *PRESETS)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _key(name: str) -> str:
    """``"GlorotUniform"``, ``"glorot_uniform"`` and ``"GLOROT_UNIFORM"`` all give one key."""
    return name.replace("_", "").lower()


_BY_KEY = {_key(cls.__name__): cls for cls in _CLASSES}
INITIALIZER_NAMES: tuple[str, ...] = tuple(n for cls in _CLASSES for n in (cls.__name__, _snake(cls.__name__)))


def _lookup(name: str) -> type[VarianceScaling]:
    cls = _BY_KEY.get(_key(name))
    if cls is None:
        raise ValueError(f"Unknown initializer: received {name!r}; known names are {list(INITIALIZER_NAMES)}.")
    return cls


def get(identifier: Any) -> VarianceScaling | None:
    """Return an initializer for ``identifier``, as ``keras.initializers.get`` does.

    Parameters
    ----------
    identifier : str, dict, VarianceScaling, class or None
        - a name in either case style (``"HeNormal"``, ``"he_normal"``): a new instance
          with default arguments;
        - a Keras-style serialized dict ``{"class_name": ..., "config": {...}}`` (other
          keys such as ``"module"`` and ``"registered_name"`` are ignored, so Keras'
          own ``serialize`` output loads);
        - a config dict without ``"class_name"``: :meth:`VarianceScaling.from_config`;
        - an initializer instance: returned as it is;
        - a :class:`VarianceScaling` subclass: a new instance with default arguments;
        - ``None``: ``None``, as in Keras.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    TypeError
        For any other kind of identifier.

    Examples
    --------
    >>> import vscale
    >>> vscale.get("he_normal")
    HeNormal(seed=None)
    >>> vscale.get({"class_name": "GlorotUniform", "config": {"seed": 1}, "module": "keras.initializers"})
    GlorotUniform(seed=1)
    """
    if identifier is None or isinstance(identifier, VarianceScaling):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, type) and issubclass(identifier, VarianceScaling):
        return identifier()
    if isinstance(identifier, Mapping):
        if "class_name" not in identifier:
            return VarianceScaling.from_config(identifier)
        name, config = identifier["class_name"], identifier.get("config", {})
        if not isinstance(name, str):
            raise TypeError(f"Key 'class_name' of argument `identifier` must be a str; received {name!r}.")
        return _lookup(name).from_config(config)
    raise TypeError(
        f"Argument `identifier` must be a name, a config or serialized dict, an initializer or its class, "
        f"or None; received {identifier!r} of type {type(identifier).__name__}."
    )


def serialize(initializer: VarianceScaling) -> dict[str, Any]:
    """The Keras-style dict of an initializer; :func:`get` turns it back into one.

    Examples
    --------
    >>> import vscale
    >>> vscale.serialize(vscale.HeUniform(seed=3))
    {'module': 'vscale', 'class_name': 'HeUniform', 'config': {'seed': 3}, 'registered_name': None}
    """
    if not isinstance(initializer, VarianceScaling):
        raise TypeError(
            f"Argument `initializer` must be a vscale initializer; received {initializer!r} "
            f"of type {type(initializer).__name__}."
        )
    return {
        "module": "vscale",
        "class_name": type(initializer).__name__,
        "config": initializer.get_config(),
        "registered_name": None,
    }


def deserialize(config: Any, custom_objects: Any = None) -> VarianceScaling:
    """An initializer from :func:`serialize`'s dict or a name, as ``keras.initializers.deserialize``.

    ``custom_objects`` is accepted for Keras compatibility; vscale's classes need none.

    Examples
    --------
    >>> import vscale
    >>> vscale.deserialize(vscale.serialize(vscale.HeNormal(seed=3)))
    HeNormal(seed=3)
    """
    if not isinstance(config, (Mapping, str)):
        raise TypeError(
            f"Argument `config` must be a serialized dict or a name; received an object of type "
            f"{type(config).__name__}."
        )
    result = get(config)
    assert result is not None  # only None gives None
    return result


def init_(array: ArrayT, initializer: Any) -> ArrayT:
    """Fill ``array`` in place with ``initializer`` and return it (PyTorch's ``init.*_`` idiom).

    Parameters
    ----------
    array : array
        A writeable NumPy or CuPy array, torch tensor (an ``nn.Parameter`` too) or other
        writeable array-API array, of a floating or complex dtype; views are written
        through.  Its dtype, device and memory are kept.
    initializer : VarianceScaling or identifier
        An initializer, or anything :func:`vscale.get` accepts (``"he_normal"``, a config).
        Its ``layout`` (or axes) and ``groups`` decide the fans.

    Returns
    -------
    array
        ``array`` itself.

    Examples
    --------
    >>> import numpy as np, vscale
    >>> w = np.zeros((64, 32), dtype=np.float32)
    >>> vscale.init_(w, vscale.HeNormal(seed=0, layout="torch")) is w
    True
    >>> bool(np.any(w != 0)), w.dtype
    (True, dtype('float32'))
    """
    resolved = get(initializer)
    if resolved is None:
        raise TypeError("Argument `initializer` must be an initializer or an identifier for one; received None.")
    return resolved.fill_(array)
