"""Lazy Dask arrays of vscale initializers: ``vscale.dask.array(initializer, shape, chunks=...)``.

>>> import vscale, vscale.dask
>>> lazy = vscale.dask.array(vscale.HeNormal(seed=0), (1000, 512), chunks=(256, 512))
>>> lazy.shape, lazy.chunksize
((1000, 512), (256, 512))

The lazy array is one call of the initializer (its key is drawn when the array is
made); each block is a task that computes its region of that call where it runs.  With
``prng="threefry"``, or native streams on NumPy blocks, the computed array is the NumPy
call's bit for bit, for any chunking.  ``initializer(shape, xp="dask")`` is this function
with its defaults.  Importing this module imports no Dask.
"""

from __future__ import annotations

from typing import Any

from .api.registry import get

__all__ = ["array"]


def array(
    initializer: Any,
    shape: Any,
    dtype: Any = None,
    *,
    chunks: Any = None,
    block_xp: Any = None,
    generator: Any = None,
) -> Any:
    """A lazy ``dask.array.Array`` of one call of ``initializer``.

    Parameters
    ----------
    initializer : VarianceScaling or identifier
        Anything :func:`vscale.get` accepts.
    shape, dtype
        As in :meth:`vscale.VarianceScaling.__call__`.
    chunks : optional
        The blocks of the lazy array, in any form ``dask.array`` accepts (``None`` means
        ``"auto"``); every block must have a positive integer size.
    block_xp : {None, "numpy", "cupy"}, optional
        The library of each block (``None``: NumPy).  CuPy blocks are made on each
        worker's current GPU and need ``prng="threefry"``.
    generator : optional
        Where the call's key comes from instead of the initializer's seed, as in
        :meth:`vscale.VarianceScaling.sample`; drawn once, on the client.

    Returns
    -------
    dask.array.Array
        Lazy; nothing is computed until Dask computes it.
    """
    init = get(initializer)
    if init is None:
        raise TypeError("Argument `initializer` must be an initializer or an identifier for one; received None.")
    return init._dask_array(shape, dtype, chunks=chunks, block_xp=block_xp, generator=generator)
