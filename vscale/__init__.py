"""vscale: Keras' VarianceScaling initializer on NumPy, PyTorch, CuPy and any array-API namespace.

>>> import vscale
>>> w = vscale.VarianceScaling(scale=2.0, mode="fan_in", seed=0)((3, 3, 64, 128))
>>> w.shape, w.dtype
((3, 3, 64, 128), dtype('float32'))
"""

from ._config import floatx, set_floatx
from .core import compute_fans
from .initializers import Parameters, VarianceScaling, variance_scaling

__all__ = [
    "Parameters",
    "VarianceScaling",
    "compute_fans",
    "floatx",
    "set_floatx",
    "variance_scaling",
]

__version__ = "0.1.0"
