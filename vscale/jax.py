"""The ``jax.nn.initializers`` API on vscale: ``variance_scaling`` and its presets.

``from vscale.jax import he_normal`` in place of ``from jax.nn.initializers import
he_normal``: the same factories with JAX's signatures, fan rule (``in_axis``,
``out_axis``, ``batch_axis``), modes (``"fan_geo_avg"`` too) and distribution names
(JAX's ``"normal"`` is the *untruncated* normal), each returning
``init(key, shape, dtype=..., out_sharding=None)`` for a typed (``jax.random.key``) or
raw (``jax.random.PRNGKey``) key, as Flax's ``kernel_init=`` calls it:

>>> import jax, jax.numpy as jnp, vscale.jax
>>> init = vscale.jax.he_normal()
>>> w = init(jax.random.key(0), (3, 3, 64, 128), jnp.float32)
>>> w.shape, w.dtype
((3, 3, 64, 128), dtype('float32'))
>>> theirs = jax.nn.initializers.he_uniform()(jax.random.key(0), (64, 32), jnp.float32)
>>> bool((vscale.jax.he_uniform()(jax.random.key(0), (64, 32), jnp.float32) == theirs).all())
True

What a key yields.  ``init`` draws the key's bits with ``jax.random.bits`` (element
``i`` of the shape, row-major, is the bits JAX's own initializer gets there) and turns
them into values with vscale's portable constructions (:mod:`vscale.core.portable`:
JAX's ``f * (b - a) + a`` and ``sqrt(2) * erfinv(u)`` from correctly rounded operations,
with vscale's inverse error function).  So the uniform is JAX's bit for bit, and the
normals differ from JAX's only through the inverse error function (a few ulp, more where
XLA's own ``erf_inv`` is inaccurate); float16 and bfloat16 are computed in float32 and
rounded once (JAX computes in the narrow dtype from 16-bit draws); complex dtypes have
vscale's rotation-invariant definition (:mod:`vscale.core.complex`).  The docs' page
"Coming from Keras, PyTorch or JAX" has the measured table.

Invariant: ``init`` is traceable.  Everything that depends on the shape, dtype and scale
(fans, constants, checks) is plain Python, done when ``init`` is called, before anything
is drawn; the values are one ``jax.jit``-compiled function of the key (compiled once
per shape, dtype and transform, as ``jax.random``'s own functions are), so ``init`` runs
under ``jax.jit`` and ``jax.vmap`` over keys with the same values as eagerly.  ``scale``
must therefore be concrete (a Python number or a 0-d array with a value), not a value
traced inside a JAX transformation.

``import vscale.jax`` does not import JAX; the functions do, when called.  The names of
``jax.nn.initializers`` that are not variance scaling (``zeros``, ``ones``,
``constant``, ``uniform``, ``normal``, ``truncated_normal``, ``orthogonal``,
``delta_orthogonal``, ``Initializer``) are JAX's own objects, forwarded, so that a module
can swap the import whole.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from .api.initializers import parameters_of, transform_of
from .api.validation import short_repr, validate_scale, validate_shape
from .core import portable
from .core.complex import ComplexTransform, apply_complex
from .core.fans import receptive_fans
from .core.precision import working_name
from .core.threefry import draws_to_uniforms
from .core.transforms import Kind

__all__ = [
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
]

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "normal", "uniform"]
Axes = int | Sequence[int]
#: ``init(key, shape, dtype=..., out_sharding=None) -> jax.Array`` (JAX names its protocol ``Initializer``).
Init = Callable[..., Any]

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
#: JAX's distribution names; vscale's "untruncated_normal" is accepted too.
DISTRIBUTIONS: dict[str, Kind] = {
    "truncated_normal": "truncated_normal",
    "normal": "untruncated_normal",
    "untruncated_normal": "untruncated_normal",
    "uniform": "uniform",
}
DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")
#: ``jax.nn.initializers``' other names: JAX's own objects, forwarded by ``__getattr__``.
FORWARDED = (
    "Initializer",
    "constant",
    "delta_orthogonal",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "zeros",
)


def variance_scaling(
    scale: Any,
    mode: Mode,
    distribution: Distribution,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> Init:
    r"""An initializer with standard deviation :math:`\sqrt{scale / n}`, as JAX's.

    ``n`` is, by ``mode``, the fan-in, the fan-out, their arithmetic mean
    (``"fan_avg"``) or their geometric mean (``"fan_geo_avg"``); the fans are the sizes
    of ``in_axis`` and ``out_axis`` times the receptive field (the axes in none of
    ``in_axis``, ``out_axis``, ``batch_axis``).

    Parameters
    ----------
    scale : float or 0-d array
        Positive and finite; a concrete value (not one traced inside ``jax.jit``).
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
    distribution : {"truncated_normal", "normal", "uniform"}
        ``"truncated_normal"``: at two deviations, rescaled to the requested deviation;
        ``"normal"``: untruncated, as in JAX (``"untruncated_normal"`` is accepted too);
        ``"uniform"``: on ``[-limit, limit]``, ``limit = sqrt(3 scale / n)`` (a disk for
        complex dtypes).
    in_axis, out_axis, batch_axis : int or sequence of int
        The input, output and batch axes of the weight.
    dtype : dtype, optional
        The default dtype of ``init``; None means JAX's default float (float32, or float64
        with ``jax_enable_x64``).

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None)``, a ``jax.Array`` of ``shape``.

    Raises
    ------
    ValueError
        For an unknown ``mode`` or ``distribution``, a ``scale`` that is not positive and
        finite (JAX draws zeros or NaN), and, from ``init``, a 0-d or 1-D shape with the default
        ``in_axis`` (JAX's message), axes outside the shape (NumPy's ``AxisError``, also
        an ``IndexError`` as JAX's) and values the dtype cannot hold.
    TypeError
        For a ``scale`` that is not a real number or a concrete 0-d array, axes that are
        not integers, and, from ``init``, a dtype that is not a known dtype.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, vscale.jax
    >>> init = vscale.jax.variance_scaling(1.0, "fan_geo_avg", "normal", in_axis=0, out_axis=(1, 2))
    >>> init(jax.random.key(1), (64, 8, 32), jnp.bfloat16).dtype
    dtype(bfloat16)
    """
    value = _concrete_scale(scale)
    if not isinstance(mode, str) or mode.lower() not in MODES:
        raise ValueError(
            f"invalid mode for variance scaling initializer: {mode} (argument `mode`; expected one of {MODES}; "
            f"received mode={mode!r})."
        )
    if not isinstance(distribution, str) or distribution.lower() not in DISTRIBUTIONS:
        raise ValueError(
            f"invalid distribution for variance scaling initializer: {distribution} (argument `distribution`; "
            f"expected one of {tuple(DISTRIBUTIONS)}, where 'normal' is untruncated, as in JAX; "
            f"received distribution={distribution!r})."
        )
    how = mode.lower()
    kind = DISTRIBUTIONS[distribution.lower()]
    axes = tuple(
        _axes(name, axes) for name, axes in (("in_axis", in_axis), ("out_axis", out_axis), ("batch_axis", batch_axis))
    )
    default = dtype

    def init(key: Any, shape: Any, dtype: Any = default, out_sharding: Any = None) -> Any:
        jax = _jax()
        dims = validate_shape(shape)
        name = _dtype_name(jax, dtype)
        fan_in, fan_out = receptive_fans(dims, *axes)
        if math.prod(dims) == 0:  # nothing to draw (JAX divides by zero here)
            return jax.numpy.zeros(dims, name, out_sharding=out_sharding)
        n = {
            "fan_in": fan_in,
            "fan_out": fan_out,
            "fan_avg": (fan_in + fan_out) / 2,
            "fan_geo_avg": (fan_in * fan_out) ** 0.5,
        }[how]  # JAX's arithmetic: the variance scale / n is rounded to the dtype from these floats
        params = parameters_of(kind, value, round(fan_in), round(fan_out), n)
        transform = transform_of(params, kind, value, name, portable=True)
        return _draw_function()(key, dims, name, transform, out_sharding)

    return init


def glorot_uniform(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Init:
    """Glorot (Xavier) uniform: ``variance_scaling(1.0, "fan_avg", "uniform")``.

    Glorot and Bengio, "Understanding the difficulty of training deep feedforward neural
    networks", AISTATS 2010.
    """
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Init:
    """Glorot (Xavier) normal: ``variance_scaling(1.0, "fan_avg", "truncated_normal")``.

    Glorot and Bengio, AISTATS 2010.
    """
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def lecun_uniform(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Init:
    """LeCun uniform: ``variance_scaling(1.0, "fan_in", "uniform")``.

    Klambauer et al., "Self-Normalizing Neural Networks", NeurIPS 2017 (arXiv:1706.02515).
    """
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Init:
    """LeCun normal: ``variance_scaling(1.0, "fan_in", "truncated_normal")``.

    Klambauer et al., NeurIPS 2017 (arXiv:1706.02515).
    """
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def he_uniform(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Init:
    """He (Kaiming) uniform: ``variance_scaling(2.0, "fan_in", "uniform")``.

    He et al., "Delving Deep into Rectifiers", ICCV 2015 (arXiv:1502.01852).
    """
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Init:
    """He (Kaiming) normal: ``variance_scaling(2.0, "fan_in", "truncated_normal")``.

    He et al., ICCV 2015 (arXiv:1502.01852).
    """
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def __getattr__(name: str) -> Any:
    if name in FORWARDED:
        import jax.nn.initializers  # optional framework: JAX's own initializers, asked for by name

        return getattr(jax.nn.initializers, name)
    raise AttributeError(f"module 'vscale.jax' has no attribute {name!r}")


def _jax() -> Any:
    import jax  # optional framework: imported when an initializer is called with a JAX key

    return jax


def _concrete_scale(scale: Any) -> float:
    """``scale`` as a float: a real number, or a 0-d array (NumPy, JAX) with a value."""
    if isinstance(scale, numbers.Real) or not hasattr(scale, "shape"):
        return validate_scale(scale)
    if tuple(scale.shape) != () or np.dtype(scale.dtype).kind in "bcOSUM":  # bfloat16's kind is "V"
        raise TypeError(
            f"Argument `scale` must be a positive real number or a 0-d real array; received {short_repr(scale)} "
            f"of shape {tuple(scale.shape)} and dtype {scale.dtype}."
        )
    try:
        value = float(scale)
    except Exception as error:  # a tracer: jax.errors.ConcretizationTypeError; complex: TypeError
        raise TypeError(
            "Argument `scale` must be concrete: vscale.jax computes its constants in Python when the initializer "
            "is called, so a scale traced inside jax.jit or another transformation cannot be used; pass a Python "
            f"number or a 0-d array with a value. Received {type(scale).__name__} of dtype {scale.dtype}."
        ) from error
    return validate_scale(value)


def _axes(name: str, axes: Any) -> int | tuple[int, ...]:
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        return int(axes)
    if isinstance(axes, Sequence) and not isinstance(axes, str):
        if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
            return tuple(int(a) for a in axes)
    raise TypeError(
        f"Argument `{name}` must be an integer or a sequence of integers; received {short_repr(axes)} "
        f"of type {type(axes).__name__}."
    )


def _dtype_name(jax: Any, dtype: Any) -> str:
    """The output dtype's name; None is JAX's default float, and 64-bit types without
    ``jax_enable_x64`` become their 32-bit ones with a warning, as in JAX."""
    if dtype is None:
        return str(jax.dtypes.canonicalize_dtype(np.float64).name)
    try:
        requested = jax.numpy.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"Argument `dtype` is not a known dtype: received {short_repr(dtype)}; expected one of {DTYPES}."
        ) from None
    if requested.name not in DTYPES:
        raise ValueError(
            f"Expected a floating point or complex type for argument `dtype`; received dtype={short_repr(dtype)} "
            f"({requested.name}); allowed are {DTYPES}."
        )
    actual = jax.dtypes.canonicalize_dtype(requested)
    if actual != requested:
        warnings.warn(
            f"Argument `dtype`={requested.name} needs jax_enable_x64; the values are {actual.name}, as JAX truncates "
            "it (set JAX_ENABLE_X64=1 for 64-bit types).",
            UserWarning,
            stacklevel=3,
        )
    return str(actual.name)


@functools.cache
def _draw_function() -> Any:
    """:func:`_draw`, compiled once per shape, dtype, transform and sharding (the static arguments)."""
    return _jax().jit(_draw, static_argnames=("dims", "name", "transform", "out_sharding"))


def _draw(key: Any, dims: tuple[int, ...], name: str, transform: Any, out_sharding: Any) -> Any:
    """The values of ``transform`` from ``key``: JAX operations only (it is traced)."""
    jax = _jax()
    jnp = jax.numpy
    working = jnp.float64 if working_name(name) == "float64" else jnp.float32
    shape = dims or (1,)  # the core's clip reads a first axis
    if isinstance(transform, ComplexTransform):
        # vscale's complex definition: the modulus from position 2i, the angle from 2i + 1.
        draws = _uniforms(jax, key, (*shape, 2), working, "centred", None)
        values = apply_complex(draws[..., 0], draws[..., 1], transform, getattr(jnp, name), xp=jnp)
        if out_sharding is not None:
            values = jax.sharding.reshard(values, out_sharding)
    else:
        # Drawn in the output's shape and sharding: element i (row-major) gets JAX's bits of i.
        values = jnp.astype(
            portable.apply(_uniforms(jax, key, shape, working, "jax", out_sharding), transform, xp=jnp), name
        )
    return jnp.reshape(values, dims) if dims != shape else values


def _uniforms(jax: Any, key: Any, shape: tuple[int, ...], working: Any, grid: str, out_sharding: Any) -> Any:
    jnp = jax.numpy
    if working == jnp.float32:
        bits = jax.random.bits(key, shape, jnp.uint32, out_sharding=out_sharding)
        return draws_to_uniforms(bits, None, xp=jnp, dtype=working, grid=grid)
    bits = jax.random.bits(key, shape, jnp.uint64, out_sharding=out_sharding)
    high = jnp.astype(bits >> 32, jnp.uint32)
    return draws_to_uniforms(high, jnp.astype(bits, jnp.uint32), xp=jnp, dtype=working, grid=grid)
