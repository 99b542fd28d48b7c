"""Filling existing arrays in place: ``VarianceScaling.fill_`` and ``vscale.init_``.

The engine writes the values chunk by chunk straight into the array (through a bounded
workspace where the array is not contiguous or its dtype is not the working one), so
the peak memory is the array plus a few chunks.  Everything that can fail is checked
before the first write, so a refused call leaves the array untouched.  PyTorch tensors
are written without autograd: an ``nn.Parameter`` stays a leaf without history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ._compat import (
    array_namespace,
    device,
    is_array_api_obj,
    is_cupy_array,
    is_dtensor,
    is_jax_array,
    is_numpy_array,
    is_torch_array,
    is_writeable_array,
)
from ._validation import validate_region, validate_shape
from .backends import get_backend

if TYPE_CHECKING:
    from .initializers import VarianceScaling

ArrayT = TypeVar("ArrayT")


def fill(
    initializer: VarianceScaling,
    array: ArrayT,
    fan_layout: tuple[Any, ...] | None = None,
    generator: Any = None,
    shape: Any = None,
    region: Any = None,
) -> ArrayT:
    """Overwrite ``array`` with ``initializer``'s values; fans from ``fan_layout`` if given.

    With ``shape`` (the global shape) and ``region``, ``array`` is that region of the call.
    A ``torch.distributed`` DTensor is filled shard by shard (:func:`vscale.torch.fill_shard_`).
    """
    if is_dtensor(array):
        if shape is not None or region is not None:
            raise ValueError(
                "Arguments `shape` and `region` must be None for a DTensor: its global shape and placements "
                f"give each rank's piece; received shape={shape!r}, region={region!r}."
            )
        from .torch import fill_shard_

        result: ArrayT = fill_shard_(array, initializer, generator=generator)
        return result
    namespace = prepare(array)
    arr: Any = array
    local = tuple(int(d) for d in arr.shape)
    dims = local if shape is None else validate_shape(shape)
    box = None if region is None else validate_region(region, dims)
    expected = dims if box is None else box.sizes
    if expected != local:
        what = "the region's shape" if box is not None else "`shape`"
        raise ValueError(
            f"Argument `array` has shape {local}, but {what} is {expected}; received shape={shape!r}, region={region!r}."
        )
    layout = initializer._fan_layout() if fan_layout is None else fan_layout
    if fan_layout is None and not initializer.layout_given and is_torch_array(arr) and len(dims) >= 2:
        layout = (None, None, "torch", initializer.groups)  # a torch weight is (out, in/groups, *kernel)
    filled: ArrayT = initializer._generate(
        dims, arr.dtype, namespace, device(arr), layout, generator, target=arr, region=box
    )
    return filled


#: Array types whose namespace their type decides and that are writable unless their
#: adapter's check says otherwise (NumPy's, torch's, CuPy's): found once, not per call.
_NAMESPACE_OF_TYPE: dict[type, Any] = {}


def prepare(array: Any) -> Any:
    """Refuse, before any work, what cannot be filled in place; return the array's namespace."""
    namespace = _NAMESPACE_OF_TYPE.get(type(array))
    if namespace is not None:
        get_backend(namespace).check_fillable(array)
        return namespace
    if not is_array_api_obj(array):
        raise TypeError(
            f"Argument `array` must be an array to fill in place (NumPy, CuPy, torch, or another array-API "
            f"array); received an object of type {type(array).__name__}."
        )
    namespace = array_namespace(array)
    if not is_jax_array(array):
        get_backend(namespace).check_fillable(array)
    if is_writeable_array(array):
        if is_numpy_array(array) or is_torch_array(array) or is_cupy_array(array):
            _NAMESPACE_OF_TYPE[type(array)] = namespace
        return namespace
    raise TypeError(
        f"Argument `array` of type {type(array).__module__}.{type(array).__name__} is immutable and cannot be "
        "filled in place; create a new array by calling the initializer with the shape and xp=."
    )


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
    from ._registry import get

    resolved = get(initializer)
    if resolved is None:
        raise TypeError("Argument `initializer` must be an initializer or an identifier for one; received None.")
    return resolved.fill_(array)
