"""vscale: Keras' VarianceScaling initializer on NumPy, PyTorch, CuPy and any array-API namespace.

>>> import vscale
>>> w = vscale.VarianceScaling(scale=2.0, mode="fan_in", seed=0)((3, 3, 64, 128))
>>> w.shape, w.dtype
((3, 3, 64, 128), dtype('float32'))

The PyTorch helpers live in :mod:`vscale.torch` (``import vscale.torch``), the lazy Dask
arrays in :mod:`vscale.dask`; importing ``vscale`` imports no framework.
"""

import sys

from . import api
from .api.config import floatx, set_floatx
from .api.family import (
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
from .api.fans import compute_fans
from .api.initializers import Parameters, VarianceScaling, variance_scaling
from .api.registry import deserialize, get, init_, serialize
from .kernels.host import KernelsUnavailableWarning

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

# The public classes are vscale's, wherever they are defined: a pickle (torch.save of a model
# holding an initializer) names vscale.HeNormal, so it survives a change of layout.  Pickles
# made before 0.2 name the modules that defined the classes then; those names stay
# importable, as the modules that define the classes now.
for _public in (Parameters, VarianceScaling, *api.family.PRESETS):
    _public.__module__ = __name__
sys.modules.setdefault(f"{__name__}.initializers", api.initializers)
sys.modules.setdefault(f"{__name__}.family", api.family)
del _public
