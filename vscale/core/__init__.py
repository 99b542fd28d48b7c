"""vscale's backend-agnostic core: only the array API standard and ``xp`` arguments."""

from .erfinv import erfinv, truncated_erfinv
from .fans import compute_fans
from .transforms import NORMAL_REACH, TRUNCATED_STD, Transform, apply, centre_uniforms, make_transform

__all__ = [
    "NORMAL_REACH",
    "TRUNCATED_STD",
    "Transform",
    "apply",
    "centre_uniforms",
    "compute_fans",
    "erfinv",
    "make_transform",
    "truncated_erfinv",
]
