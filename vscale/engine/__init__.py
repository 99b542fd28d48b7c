"""The engine: a call's plan (chunks, threads, kernels, regions), the one loop, the outputs.

:mod:`~vscale.engine.plan` decides once what a call's key and target do not change;
:mod:`~vscale.engine.generate` carries a plan out with a key; :mod:`~vscale.engine.loop`
is the one chunk loop; :mod:`~vscale.engine.outputs` says where values go;
:mod:`~vscale.engine.lazy` makes a call a lazy Dask array of region tasks.
"""
