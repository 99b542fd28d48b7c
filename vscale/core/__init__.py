"""vscale's backend-agnostic core: only the array API standard and ``xp`` arguments."""

from .erfinv import erfinv, erfinv_half, truncated_erfinv, truncated_erfinv_half
from .transforms import (
    NORMAL_REACH,
    SAMPLED_NORMAL_REACH,
    TRUNCATED_STD,
    Transform,
    apply,
    apply_normal,
    half_centre_uniforms,
    make_transform,
)

__all__ = [
    "NORMAL_REACH",
    "SAMPLED_NORMAL_REACH",
    "TRUNCATED_STD",
    "Transform",
    "apply",
    "apply_normal",
    "erfinv",
    "erfinv_half",
    "half_centre_uniforms",
    "make_transform",
    "truncated_erfinv",
    "truncated_erfinv_half",
]
