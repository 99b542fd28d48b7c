"""vscale: Keras' VarianceScaling initializer on NumPy, PyTorch, CuPy and any array-API namespace.

>>> import vscale
>>> w = vscale.VarianceScaling(scale=2.0, mode="fan_in", seed=0)((3, 3, 64, 128))
>>> w.shape, w.dtype
((3, 3, 64, 128), dtype('float32'))

The PyTorch helpers live in :mod:`vscale.torch` (``import vscale.torch``); importing
``vscale`` imports no framework.
"""

from ._config import floatx, set_floatx
from ._fans import compute_fans
from ._inplace import init_
from ._registry import deserialize, get, serialize
from .backends._host_kernels import KernelsUnavailableWarning
from .family import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
)
from .initializers import Parameters, VarianceScaling, variance_scaling

__all__ = [
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "KernelsUnavailableWarning",
    "LecunNormal",
    "LecunUniform",
    "Parameters",
    "VarianceScaling",
    "compute_fans",
    "deserialize",
    "floatx",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "init_",
    "lecun_normal",
    "lecun_uniform",
    "serialize",
    "set_floatx",
    "variance_scaling",
]

__version__ = "0.1.0"
