"""The public layer: what users call, every argument checked before anything is drawn.

``VarianceScaling`` and its family, the registry (``get``, ``serialize``), the default
dtype, ``compute_fans`` and in-place filling.  A call is validated here, its transform
is built from Keras' semantics, and one plan of it goes down to :mod:`vscale.engine`.
The names users import are re-exported by :mod:`vscale`.
"""
