"""The PyTorch-facing API: ``torch.nn.init``-style functions and module initialization.

The functions fill a tensor in place and return it, read its fans in PyTorch's layout
(``(out, in/groups, *kernel)``; ``layout="torch_transposed"`` for transposed
convolutions), and take ``generator=`` as ``torch.nn.init`` does; without one, the
values follow ``torch.manual_seed``:

>>> import torch, vscale.torch
>>> w = torch.empty(256, 512)
>>> vscale.torch.he_normal_(w) is w
True

``import vscale.torch`` does not import torch either; the functions find it in
``sys.modules`` (a tensor exists, so torch has been imported).

The fill functions and :func:`init_module` also fill a ``torch.distributed.tensor.DTensor``
(sharded with ``Shard(d)`` or replicated, on a mesh of any dimension): each rank computes
and writes only its local shard, from the global shape, so that the gathered tensor is the
one a single process gets; :func:`fill_shard_` fills a piece of a manually sharded tensor.
The torch.distributed page of the documentation says what that needs and guarantees.
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
import warnings
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Literal, cast

from .api.fill import check_piece_stream, prepare
from .api.initializers import Prng, VarianceScaling
from .api.registry import get
from .api.validation import short_repr, validate_shape
from .backends.compat import is_dtensor
from .backends.torch import Piece, dtensor_piece
from .core.precision import finfo
from .core.transforms import NORMAL_REACH, SAMPLED_NORMAL_REACH

__all__ = [
    "calculate_gain",
    "fill_shard_",
    "glorot_normal_",
    "glorot_uniform_",
    "he_normal_",
    "he_uniform_",
    "init_module",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "normal_",
    "trunc_normal_",
    "uniform_",
    "variance_scaling_",
    "weight_layout",
    "xavier_normal_",
    "xavier_uniform_",
]

BiasRule = Literal["zeros", "keep", "torch"]
TorchLayout = Literal["torch", "torch_transposed"]
_BIAS_RULES = ("zeros", "keep", "torch")


def variance_scaling_(
    tensor: Any,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    *,
    layout: TorchLayout = "torch",
    groups: int = 1,
    generator: Any = None,
    prng: Prng = "native",
) -> Any:
    """Fill ``tensor`` in place with :class:`vscale.VarianceScaling` values and return it.

    Fans are read in PyTorch's layout (``layout="torch_transposed"`` for the weights of
    ``ConvTranspose*d``; ``groups`` for grouped convolutions).  ``generator`` is a
    ``torch.Generator`` (or ``numpy.random.Generator``); without one the key comes from
    torch's default generator of the tensor's device, so ``torch.manual_seed`` governs it.
    ``prng`` is as in :class:`vscale.VarianceScaling`.

    A ``DTensor`` is filled shard by shard from its global shape (see :func:`fill_shard_`):
    every rank must then draw the same key, from a generator in the same state on every
    rank (``torch.manual_seed`` with one seed everywhere).  Sharded DTensors on CUDA need
    ``prng="threefry"``.
    """
    init = VarianceScaling(scale, mode, distribution, layout=layout, groups=groups, prng=prng)  # type: ignore[arg-type]
    _write(init, _target(tensor, "Argument `tensor`"), None, generator)
    return tensor


def _preset(scale: float, mode: str, distribution: str, name: str, paper: str) -> Any:
    def fill(
        tensor: Any, *, layout: TorchLayout = "torch", groups: int = 1, generator: Any = None, prng: Prng = "native"
    ) -> Any:
        return variance_scaling_(
            tensor, scale, mode, distribution, layout=layout, groups=groups, generator=generator, prng=prng
        )

    fill.__name__ = fill.__qualname__ = name
    fill.__doc__ = (
        f"Fill ``tensor`` in place as Keras' ``{name[:-1]}`` ({paper}): scale={scale}, mode={mode!r}, "
        f"distribution={distribution!r}, fans in PyTorch's layout; see :func:`variance_scaling_`."
    )
    return fill


glorot_normal_ = _preset(1.0, "fan_avg", "truncated_normal", "glorot_normal_", "Glorot & Bengio, 2010")
glorot_uniform_ = _preset(1.0, "fan_avg", "uniform", "glorot_uniform_", "Glorot & Bengio, 2010")
he_normal_ = _preset(2.0, "fan_in", "truncated_normal", "he_normal_", "He et al., 2015")
he_uniform_ = _preset(2.0, "fan_in", "uniform", "he_uniform_", "He et al., 2015")
lecun_normal_ = _preset(1.0, "fan_in", "truncated_normal", "lecun_normal_", "LeCun et al., 1998")
lecun_uniform_ = _preset(1.0, "fan_in", "uniform", "lecun_uniform_", "LeCun et al., 1998")


# -- torch.nn.init's names ------------------------------------------------------------------
# Same signatures, fans, gains, errors and warnings as torch.nn.init; each is a VarianceScaling
# (scale = gain**2) on vscale's streams: the bound of kaiming_uniform_, gain * sqrt(3 / fan),
# is sqrt(3 * scale / fan), and the deviation of the normals, gain / sqrt(fan), is sqrt(scale / fan).

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity``, as ``torch.nn.init.calculate_gain`` returns it.

    linear and convolutions, sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu:
    sqrt(2 / (1 + negative_slope**2)) with ``param`` the slope (default 0.01); selu: 3/4.

    Examples
    --------
    >>> import vscale.torch
    >>> vscale.torch.calculate_gain("leaky_relu", 0.2) == (2 / (1 + 0.2**2)) ** 0.5
    True
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope: float = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # SELU's self-normalizing scale (see torch.nn.init.calculate_gain)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _torch_fans_checked(tensor: Any) -> None:
    """torch's refusal of the fans of a tensor with fewer than two dimensions."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")


def _torch_mode(mode: str) -> str:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    return mode


def _kaiming_(
    tensor: Any, a: float, mode: str, nonlinearity: str, generator: Any, prng: Prng, distribution: str
) -> Any:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return tensor
    mode = _torch_mode(mode)
    _torch_fans_checked(tensor)
    gain = calculate_gain(nonlinearity, a)
    if tensor.is_meta:  # no memory: checked, then left as it is, as torch.nn.init does
        return tensor
    return variance_scaling_(tensor, gain**2, mode, distribution, generator=generator, prng=prng)


def kaiming_uniform_(
    tensor: Any,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
    *,
    prng: Prng = "native",
) -> Any:
    """``torch.nn.init.kaiming_uniform_`` on vscale's streams: U(-b, b), b = gain * sqrt(3 / fan).

    ``a`` is the negative slope of a leaky ReLU (used only with ``nonlinearity="leaky_relu"``);
    ``mode`` is ``"fan_in"`` or ``"fan_out"``, read in PyTorch's layout.  ``prng`` is as in
    :class:`vscale.VarianceScaling`.  A tensor with a zero dimension is left as it is, with
    torch's warning.
    """
    return _kaiming_(tensor, a, mode, nonlinearity, generator, prng, "uniform")


def kaiming_normal_(
    tensor: Any,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
    *,
    prng: Prng = "native",
) -> Any:
    """``torch.nn.init.kaiming_normal_`` on vscale's streams: N(0, std**2), std = gain / sqrt(fan),
    not truncated (as torch's); arguments as in :func:`kaiming_uniform_`."""
    return _kaiming_(tensor, a, mode, nonlinearity, generator, prng, "untruncated_normal")


def _xavier_(tensor: Any, gain: float, generator: Any, prng: Prng, distribution: str) -> Any:
    _torch_fans_checked(tensor)
    # torch refuses a negative gain (its uniform_ and normal_ do) and fills zeros for 0; a
    # VarianceScaling has a positive scale, so 0 is refused here too.
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not 0 < gain < math.inf:
        raise ValueError(f"Argument `gain` must be a positive, finite number; received gain={short_repr(gain)}.")
    if tensor.is_meta:
        return tensor
    return variance_scaling_(tensor, float(gain) ** 2, "fan_avg", distribution, generator=generator, prng=prng)


def xavier_uniform_(tensor: Any, gain: float = 1.0, generator: Any = None, *, prng: Prng = "native") -> Any:
    """``torch.nn.init.xavier_uniform_`` on vscale's streams: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    return _xavier_(tensor, gain, generator, prng, "uniform")


def xavier_normal_(tensor: Any, gain: float = 1.0, generator: Any = None, *, prng: Prng = "native") -> Any:
    """``torch.nn.init.xavier_normal_`` on vscale's streams: N(0, std**2),
    std = gain * sqrt(2 / (fan_in + fan_out)), not truncated (as torch's)."""
    return _xavier_(tensor, gain, generator, prng, "untruncated_normal")


# -- torch.nn.init's distributions with their own parameters -------------------------------
# normal_, uniform_ and trunc_normal_ take no fans: each draws one call of N(0, 1) or
# U(-1, 1) on vscale's streams (a VarianceScaling whose n is 1 whatever the shape) and maps
# it affinely, or through the truncated normal's inverse CDF, in a working dtype at least as
# wide as float32, so that float16 and bfloat16 values are rounded once, from full precision.


class _Standard(VarianceScaling):
    """N(0, 1) (``scale=1``, untruncated normal) or U(-1, 1) (``scale=1/3``, uniform):
    a VarianceScaling whose fans are those of a scalar, ``n = 1``, whatever the shape."""

    def _parameters(self, dims: tuple[int, ...], fan_layout: tuple[Any, ...]) -> Any:
        return super()._parameters((), fan_layout)


def _standard(distribution: str, prng: Prng) -> _Standard:
    # U(-1, 1): the limit sqrt(3 * scale / n) is sqrt(3 * (1/3)) = 1.0 exactly in float64.
    return _Standard(1.0 if distribution == "untruncated_normal" else 1.0 / 3.0, "fan_in", distribution, prng=prng)  # type: ignore[arg-type]


_SCALAR = (None, None, "keras", 1)


def _draw(tensor: Any, distribution: str, prng: Prng, generator: Any, working: Any, torch: Any) -> tuple[Any, Any]:
    """One call of the standard ``distribution`` for ``tensor``; returns ``(local, values)``.

    ``local`` is what to write (the tensor, its local shard, the real view of a complex
    tensor); ``values`` is ``local`` itself, filled, or a new contiguous array of dtype
    ``working`` (None: ``local``'s), filled with the same piece of the call.  Everything is
    checked before the key is drawn.
    """
    subject = "Argument `tensor`"
    target = _target(tensor, subject)
    prepare(target.local)
    check_piece_stream(prng, target, subject)
    if target.local.is_complex():  # real and imaginary parts drawn independently, as torch does
        local = torch.view_as_real(target.local)
        shape = None if target.shape is None else (*target.shape, 2)
        region = None if target.region is None else (*target.region, slice(0, 2))
        target = Piece(local, shape, region)
    local = target.local
    if working is None or working == local.dtype:
        values = local
    else:
        values = torch.empty(tuple(local.shape), dtype=working, device=local.device)
    _standard(distribution, prng)._fill(values, _SCALAR, generator, target.shape, target.region)
    return local, values


def _working(dtype: Any, torch: Any) -> Any:
    """float32 for the float16/bfloat16 of ``dtype`` (or its parts), else None (the dtype itself)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16, torch.complex32) else None


def _number(value: Any, name: str, *, infinite: bool = False) -> float:
    """``value`` as a float, refusing NaN, booleans, non-numbers (and infinities unless ``infinite``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"Argument `{name}` must be a real number; received {name}={short_repr(value)}.")
    if not infinite and math.isinf(value):
        raise ValueError(f"Argument `{name}` must be finite; received {name}={short_repr(value)}.")
    return float(value)


def _real_dtype_name(tensor: Any) -> str:
    name = str(tensor.dtype).removeprefix("torch.")
    return {"complex32": "float16", "complex64": "float32", "complex128": "float64"}.get(name, name)


def _check_reach(low: float, high: float, tensor: Any, what: str) -> None:
    """Refuse values that the tensor's dtype cannot hold (they would round to infinity)."""
    name = _real_dtype_name(tensor)
    if name not in ("float16", "bfloat16", "float32", "float64"):
        return  # integer tensors are refused by the fill itself, with the dtype named
    largest = finfo(name)[0]
    if low < -largest or high > largest:
        raise ValueError(f"{what} reach [{low:.6g}, {high:.6g}], beyond the {name} range (largest {largest:.6g}).")


def _step(value: float, name: str, up: bool, torch: Any) -> float:
    """The neighbour of ``value`` (a number of dtype ``name``) above (``up``) or below it."""
    dtype = getattr(torch, name)
    bits = {2: torch.int16, 4: torch.int32, 8: torch.int64}[dtype.itemsize]
    if value == 0:
        value = 0.0 if up else -0.0  # from the zero of the side we move to: +-smallest subnormal
    t = torch.tensor([value], dtype=dtype)
    away = (value > 0 or (value == 0 and math.copysign(1.0, value) > 0)) == up  # sign-magnitude: +1 moves away from 0
    as_int = t.view(bits) + (1 if away else -1)
    return float(as_int.view(dtype).item())


def _inside(a: float, b: float, tensor: Any, torch: Any) -> tuple[float, float]:
    """The least and largest numbers of the tensor's dtype in ``[a, b]`` (infinite ends kept)."""
    name = _real_dtype_name(tensor)
    dtype = getattr(torch, name)

    def rounded(x: float) -> float:
        return float(torch.tensor([x], dtype=torch.float64).to(dtype).item())

    low, high = a, b
    if math.isfinite(a):
        low = rounded(a)
        if low < a:
            low = _step(low, name, True, torch)
    if math.isfinite(b):
        high = rounded(b)
        if high > b:
            high = _step(high, name, False, torch)
    if low > high:
        raise ValueError(
            f"Arguments `a` and `b` leave no {name} value in [a, b]; received a={a!r}, b={b!r}. Widen the "
            "interval or use a wider dtype."
        )
    return low, high


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, generator: Any = None, *, prng: Prng = "native") -> Any:
    """``torch.nn.init.normal_`` on vscale's streams: ``N(mean, std**2)``, in place.

    The values are ``mean + std * z`` for one call of the standard normal ``z`` (the inverse
    CDF of vscale's uniforms), computed in float32 for float16/bfloat16 tensors and rounded
    once.  A complex tensor gets independent real and imaginary parts, each
    ``N(mean, std**2 / 2)``, as torch's.  ``generator`` and ``torch.manual_seed`` govern the
    values; ``prng`` is as in :class:`vscale.VarianceScaling`.  A meta tensor is returned as
    it is, as torch does.

    Examples
    --------
    >>> import torch, vscale.torch
    >>> w = vscale.torch.normal_(torch.empty(1000), mean=3.0, std=0.5, generator=torch.Generator().manual_seed(0))
    >>> round(float(w.mean()), 1), round(float(w.std()), 1)
    (3.0, 0.5)
    """
    torch = sys.modules["torch"]
    if tensor.is_meta:
        return tensor
    mean = _number(mean, "mean")
    std = _number(std, "std")
    if std < 0:
        raise ValueError(f"Argument `std` must be >= 0 (torch: 'normal expects std >= 0.0'); received std={std!r}.")
    part = std / math.sqrt(2.0) if tensor.is_complex() else std
    reach = part * max(NORMAL_REACH[64], SAMPLED_NORMAL_REACH[64])
    _check_reach(mean - reach, mean + reach, tensor, "Arguments `mean` and `std` give values that")
    local, values = _draw(tensor, "untruncated_normal", prng, generator, _working(tensor.dtype, torch), torch)
    with torch.no_grad():
        values.mul_(part).add_(mean)  # std == 0 still draws the call: the stream stays where torch.nn.init's would
        if values is not local:
            local.copy_(values)
    return tensor


def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0, generator: Any = None, *, prng: Prng = "native") -> Any:
    """``torch.nn.init.uniform_`` on vscale's streams: ``U(a, b)``, in place.

    The values are ``(a + b)/2 + (b - a)/2 * v`` for one call of ``v`` uniform on
    ``(-1, 1)`` (``[-1, 1)`` with ``prng="threefry"``), computed in float32 at least and
    then kept inside ``[a, b]`` by the tensor's dtype: every value is a number of that
    dtype between ``a`` and ``b`` (torch's ``[a, b)`` can round up to ``b`` in float32, and
    beyond it in float16).  A complex tensor gets independent real and imaginary parts,
    as torch's.  A meta tensor is returned as it is.

    Examples
    --------
    >>> import torch, vscale.torch
    >>> w = vscale.torch.uniform_(torch.empty(1000, dtype=torch.float16), -0.1, 0.1)
    >>> bool(w.min() >= -0.1) and bool(w.max() <= 0.1)
    True
    """
    torch = sys.modules["torch"]
    if tensor.is_meta:
        return tensor
    a = _number(a, "a")
    b = _number(b, "b")
    if a > b:
        raise ValueError(f"Arguments `a` and `b` must satisfy a <= b (U(a, b)); received a={a!r}, b={b!r}.")
    _check_reach(a, b, tensor, "Arguments `a` and `b`")
    low, high = _inside(a, b, tensor, torch)
    local, values = _draw(tensor, "uniform", prng, generator, _working(tensor.dtype, torch), torch)
    with torch.no_grad():
        values.mul_(b / 2 - a / 2).add_(a / 2 + b / 2)  # halves first: a + b may overflow where each fits
        values.clamp_(low, high)
        if values is not local:
            local.copy_(values)
    return tensor


def trunc_normal_(
    tensor: Any,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
    *,
    prng: Prng = "native",
) -> Any:
    """``torch.nn.init.trunc_normal_`` on vscale's streams: ``N(mean, std**2)`` truncated to ``[a, b]``.

    ``a`` and ``b`` are absolute bounds, as in torch (``a=-2, b=2`` is not "two standard
    deviations" unless ``std=1``); either may be infinite (one-sided windows), and the
    window may lie anywhere, far in a tail included (``a = mean + 8 * std``).  Each value is
    the inverse CDF of the truncated distribution at one uniform of vscale's streams,
    computed in float64 from the side of the window where the CDF keeps its precision (the
    mirrored window where it lies above the mean, the complementary CDF above the median,
    logarithms beyond 37 standard deviations), then kept inside ``[a, b]`` by the tensor's
    dtype and rounded to it once: no value leaves ``[a, b]``, none is NaN, and float16 and
    bfloat16 values have their dtype's full resolution.  Unlike torch's rejection sampling
    this needs no warning for a mean far from ``[a, b]`` and takes one pass whatever the
    window.  ``generator``, ``torch.manual_seed`` and ``prng`` as in :func:`normal_`.  A meta
    tensor is returned as it is.

    Raises
    ------
    ValueError
        For a non-finite ``mean``, ``std <= 0``, ``a > b``, a NaN bound, or a window with no
        number of the tensor's dtype in it.
    TypeError
        For a complex tensor (a truncated normal is real).

    Examples
    --------
    >>> import torch, vscale.torch
    >>> w = vscale.torch.trunc_normal_(torch.empty(1000), mean=0.0, std=1.0, a=8.0, b=9.0)
    >>> bool(w.min() >= 8.0) and bool(w.max() <= 9.0)
    True
    """
    torch = sys.modules["torch"]
    if tensor.is_meta:
        return tensor
    if tensor.is_complex():
        raise TypeError(f"Argument `tensor` must be real for a truncated normal; received dtype {tensor.dtype}.")
    mean = _number(mean, "mean")
    std = _number(std, "std")
    if std <= 0:
        raise ValueError(f"Argument `std` must be positive for a truncated normal; received std={std!r}.")
    a = _number(a, "a", infinite=True)
    b = _number(b, "b", infinite=True)
    if a > b:
        raise ValueError(f"Arguments `a` and `b` must satisfy a <= b (the window [a, b]); received a={a!r}, b={b!r}.")
    # The values' extent: the window, or where the float64 inverse CDF reaches on an open side.
    reach = std * (NORMAL_REACH[64] + 1.0)
    _check_reach(
        max(a, mean - reach), min(b, mean + reach), tensor, "Arguments `mean`, `std`, `a` and `b` give values that"
    )
    low, high = _inside(a, b, tensor, torch)
    alpha, beta = (a - mean) / std, (b - mean) / std
    if min(-alpha, beta) >= _BEYOND_REACH:
        # The window holds every value the normal's inverse CDF reaches (|z| <= 8.3 from
        # float64 uniforms, 5.4 from float32's): the truncated normal's values are the
        # normal's, drawn by the engine's kernels.  timm's trunc_normal_(std=0.02) is such.
        local, values = _draw(tensor, "untruncated_normal", prng, generator, _working(tensor.dtype, torch), torch)
        with torch.no_grad():
            values.mul_(std).add_(mean).clamp_(low, high)
            if values is not local:
                local.copy_(values)
        return tensor
    working = None if tensor.dtype == torch.float64 and tensor.is_contiguous() else torch.float64
    local, values = _draw(tensor, "uniform", prng, generator, working, torch)
    with torch.no_grad():
        window = _Window.of(alpha, beta)
        flat = values.view(-1)
        for start in range(0, flat.numel(), _TRANSFORM_CHUNK):
            chunk = flat[start : start + _TRANSFORM_CHUNK]
            chunk.copy_(window.quantiles(chunk, torch))
        values.mul_(std).add_(mean).clamp_(low, high)
        if values is not local:
            local.copy_(values)
    return tensor


#: Standard deviations beyond the reach of the normal's inverse CDF in float64 (8.29).
_BEYOND_REACH = 9.0

#: Values transformed at a time: the inverse CDF's float64 temporaries stay a few MiB.
_TRANSFORM_CHUNK = 2**16

#: Beyond this many standard deviations below the mean, Phi underflows float64's normal
#: range (Phi(-37.5) is about 5e-309): such windows are inverted through log Phi.
_LOG_TAIL = -37.0


class _Window:
    """The standard normal truncated to ``[alpha, beta]``, mirrored so that it lies mostly
    below 0, where Phi is small and carries its full relative precision."""

    def __init__(self, alpha: float, beta: float, sign: float) -> None:
        self.alpha, self.beta, self.sign = alpha, beta, sign
        self.cdf_alpha = _phi(alpha)  # Phi(alpha), mass below the window
        self.sf_beta = _phi(-beta)  # 1 - Phi(beta), mass above it
        if beta <= 0:  # both small: their difference keeps its relative precision
            self.mass = _phi(beta) - self.cdf_alpha
        else:  # alpha < 0 < beta: erf's of opposite signs, no cancellation
            self.mass = (math.erf(beta / _SQRT2) - math.erf(alpha / _SQRT2)) / 2.0
        self.log_tail = beta < _LOG_TAIL

    @classmethod
    def of(cls, alpha: float, beta: float) -> _Window:
        if alpha + beta > 0:  # mostly above the mean: the mirror image, negated at the end
            return cls(-beta, -alpha, -1.0)
        return cls(alpha, beta, 1.0)

    def quantiles(self, v: Any, torch: Any) -> Any:
        """The standard values of the window at the uniforms ``v`` in ``[-1, 1]``."""
        if self.sign < 0:
            v = -v
        # q: the fraction of the window's mass below the value; r = 1 - q, both exact.
        # Clamped away from 0 so that an open side (alpha = -inf) gives a finite value.
        q = ((1.0 + v) / 2.0).clamp_(min=2.0**-64)
        r = ((1.0 - v) / 2.0).clamp_(min=2.0**-64)
        if self.log_tail:
            z = self._log_quantiles(q, torch)
        else:
            below = self.cdf_alpha + q * self.mass  # Phi(z)
            above = self.sf_beta + r * self.mass  # 1 - Phi(z)
            lower = below <= 0.5
            z = torch.special.ndtri(torch.where(lower, below, above))
            z = torch.where(lower, z, -z)
        return z.clamp_(self.alpha, self.beta).mul_(self.sign)

    def _log_quantiles(self, q: Any, torch: Any) -> Any:
        """The window far below -37: solve ``log Phi(z) = log(Phi(alpha) + q * mass)`` by
        Newton's method on ``log_ndtr``, from the asymptote ``z = -sqrt(-2 y)``."""
        log_ndtr = torch.special.log_ndtr
        as_tensor = torch.tensor([self.alpha, self.beta], dtype=torch.float64)
        log_alpha, log_beta = (float(x) for x in log_ndtr(as_tensor))
        log_mass = log_beta + math.log(-math.expm1(log_alpha - log_beta)) if log_alpha > -math.inf else log_beta
        y = torch.logaddexp(torch.full_like(q, log_alpha), torch.log(q) + log_mass)
        z = -torch.sqrt(-2.0 * y)
        for _ in range(_NEWTON_STEPS):
            log_cdf = log_ndtr(z)
            # d/dz log Phi(z) = phi(z) / Phi(z), from logs (both underflow here)
            slope = torch.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_cdf)
            z = z - (log_cdf - y) / slope
        return z


#: Newton steps of the log-tail inverse: from the asymptote the error shrinks quadratically
#: (tests/test_torch_dropin.py checks windows from -40 to -1000 against mpmath).
_NEWTON_STEPS = 6
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _phi(x: float) -> float:
    """The standard normal CDF, with its relative precision in the lower tail (erfc)."""
    return math.erfc(-x / _SQRT2) / 2.0


def fill_shard_(
    tensor: Any,
    initializer: Any,
    shape: Any = None,
    offsets: Any = None,
    *,
    region: Any = None,
    generator: Any = None,
) -> Any:
    """Fill ``tensor`` in place with its piece of a larger tensor, and return it.

    The values are those of ``initializer``'s next call with the global ``shape``
    (fans from ``shape`` too), restricted to the piece: every process fills the piece it
    holds, and the pieces fit together as one tensor.  A thin layer over
    :meth:`vscale.VarianceScaling.fill_` with ``shape=`` and ``region=``.

    Parameters
    ----------
    tensor : torch.Tensor or DTensor
        The local piece (any array :meth:`~vscale.VarianceScaling.fill_` accepts), or a
        ``torch.distributed.tensor.DTensor``, whose global shape and placements
        (``Shard(dim)`` or ``Replicate()`` on each mesh dimension, uneven shards as torch
        chunks them) give the piece of this rank; then pass neither ``shape``,
        ``offsets`` nor ``region``.
    initializer : VarianceScaling or identifier
        Anything :func:`vscale.get` accepts.  Its fans are read in its own layout, or in
        PyTorch's (``(out, in, *kernel)``) when it names none.  Every process must create it
        with the same seed and make the same sequence of calls, so that all are at the same
        call index; with ``seed=None``, every process must draw the same key.
    shape : sequence of int
        The global shape.
    offsets : sequence of int, optional
        Where the piece starts in each dimension of the global tensor (torch's
        ``global_offset``, DCP's ``ChunkStorageMetadata.offsets``); its extent is
        ``tensor.shape``.
    region : tuple of slice, optional
        The piece as slices of the global tensor instead of ``offsets`` (steps allowed).
    generator : optional
        As in :meth:`vscale.VarianceScaling.__call__`.

    Returns
    -------
    tensor
        ``tensor`` itself.

    Notes
    -----
    Pieces are computed alone with ``prng="threefry"`` on every backend and device, and with
    native streams on the CPU (NumPy, torch CPU); a torch CUDA shard with a native stream is
    refused.  The call counts as one call of ``initializer``, even for an empty piece.

    Examples
    --------
    >>> import torch, vscale, vscale.torch
    >>> whole = vscale.HeNormal(seed=0, prng="threefry").fill_(torch.empty(6, 4))
    >>> piece = torch.empty(3, 4)
    >>> vscale.torch.fill_shard_(piece, vscale.HeNormal(seed=0, prng="threefry"), (6, 4), (3, 0)) is piece
    True
    >>> torch.equal(piece, whole[3:])
    True
    """
    init = _initializer(initializer)
    if is_dtensor(tensor):
        target = dtensor_piece(tensor, "Argument `tensor`")
        if shape is not None or offsets is not None or region is not None:
            raise ValueError(
                "Argument `tensor` is a DTensor, which carries its global shape and placements; pass neither "
                f"`shape`, `offsets` nor `region` (received shape={short_repr(shape)}, "
                f"offsets={short_repr(offsets)}, region={short_repr(region)})."
            )
    else:
        prepare(tensor)
        if shape is None:
            raise ValueError(
                "Argument `shape` (the global shape) is required to fill a piece of a tensor that is not a DTensor."
            )
        if (offsets is None) == (region is None):
            raise ValueError(
                "Pass exactly one of `offsets` and `region` to place the piece in the global tensor; received "
                f"offsets={short_repr(offsets)}, region={short_repr(region)}."
            )
        if offsets is not None:
            region = _offsets_region(offsets, tuple(int(d) for d in tensor.shape), validate_shape(shape))
        target = Piece(tensor, shape, region)
    _write(init, target, None, generator, "Argument `tensor`")
    return tensor


def weight_layout(module: Any) -> tuple[Any, ...] | None:
    """The fan layout vscale uses for ``module.weight``, or ``None`` for other modules.

    ``Linear`` and ``Conv1d/2d/3d`` store ``(out, in/groups, *kernel)``: ``"torch"``;
    ``ConvTranspose1d/2d/3d`` store ``(in, out/groups, *kernel)``: ``"torch_transposed"``;
    both with the module's ``groups``.  ``Embedding`` stores ``(num_embeddings, dim)``,
    the weight of a linear map from one-hot vectors, so it is read as ``(in, out)``
    (``"keras"``): ``fan_in = num_embeddings``, ``fan_out = embedding_dim``.
    """
    nn = sys.modules["torch"].nn
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        return None, None, "torch_transposed", module.groups
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return None, None, "torch", module.groups
    if isinstance(module, nn.Linear):
        return None, None, "torch", 1
    if isinstance(module, nn.Embedding):
        return None, None, "keras", 1
    return None


def init_module(module: Any, initializer: Any = None, *, rules: Any = None, bias: BiasRule = "zeros") -> list[str]:
    """Fill the parameters of ``module`` in place, by module type and parameter name, and
    return the names of those filled.

    Without ``rules``, ``initializer`` fills the weight of every ``Linear``, ``Conv*d``,
    ``ConvTranspose*d`` and ``Embedding`` in ``module`` (itself included), and ``bias``
    says what happens to their biases; other parameters (normalisation layers, attention's
    packed projections, RNNs) are left alone.  ``rules`` give other parameters, or some of
    these, a rule of their own: a model library's whole recipe is one call (the
    documentation's *Whole-model recipes* page has GPT-2's, Llama's and ViT's).

    Parameters
    ----------
    module : torch.nn.Module
    initializer : VarianceScaling or identifier, optional
        Anything :func:`vscale.get` accepts (``"he_uniform"``, an instance, a config). It
        fills the ``weight`` of each of the four module types above that no rule matches.
        A seeded initializer gives each weight the next values of its sequence.  ``None``:
        only ``rules`` fill (then ``rules`` are required).
    rules : mapping or sequence of (key, rule) pairs, optional
        A key is either

        - a ``str``: an :func:`fnmatch.fnmatchcase` pattern matched against the qualified
          name of every parameter of ``module`` (``*`` also matches dots), such as
          ``"*.c_proj.weight"`` or ``"*.cls_token"``; or
        - a ``torch.nn.Module`` subclass: the rule fills the parameters that a module of
          that type (``isinstance``) holds itself (not its sub-modules'), except its
          ``bias``, which follows ``bias``.

        A rule is

        - anything :func:`vscale.get` accepts: an initializer, with the fans described
          below and its own stream (seeded or not);
        - a callable ``fill(tensor)`` that fills a tensor in place, such as
          ``functools.partial(vscale.torch.normal_, std=0.02)`` or
          ``torch.nn.init.ones_``: called under ``torch.no_grad()`` with the parameter
          itself (a ``DTensor`` too: it must handle one), seeded as it seeds itself
          (``torch.manual_seed`` for vscale's and torch's functions without
          ``generator=``);
        - ``None`` or ``"keep"``: leave the parameter alone (for a type: the module's
          bias too).

        Precedence: a parameter takes the rule of the first name pattern that matches its
        name (any of its names, for a tied one); failing that, of the first type its module is an instance of (list a subclass
        before its base); failing that, if it is the ``weight`` of one of the four module
        types, ``initializer``.  Otherwise it is left alone.
    bias : {"zeros", "keep", "torch"}, default "zeros"
        What happens to the ``bias`` that no name pattern matches, of every module whose
        weight ``initializer`` or a type rule fills: ``"zeros"`` (Keras' default),
        ``"keep"`` (untouched), or ``"torch"``: PyTorch's own default distribution,
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in`` of the weight in PyTorch's
        layout (zeros for a weight of fewer than two dimensions), drawn as the next call of
        the stream of the initializer that filled the weight (else ``initializer``'s, else
        torch's default generator), so a seeded initializer gives identical models
        identical biases.

    Returns
    -------
    list of str
        Qualified names of the parameters that ``initializer`` or a rule filled, in
        ``named_parameters()`` order, each once.  Biases filled by ``bias`` and parameters
        kept by a ``None`` rule are not listed.

    Notes
    -----
    **Fans.** An initializer that fills the weight of one of the four module types reads its
    fans in that module's layout and ``groups`` (see :func:`weight_layout`), whatever its own
    layout.  Any other parameter is read in the initializer's own layout, or in PyTorch's
    ``(out, in, *kernel)`` when it names none; HF transformers' ``Conv1D`` stores
    ``(in, out)``, so give its rule an initializer with ``layout="keras"``.

    **Tied and shared parameters.** A parameter reachable under several names (an output
    layer tied to the input embedding, a module used twice) is considered once, under the
    first name ``named_parameters()`` gives it and listed under that name, once.  A name
    pattern that matches any of its names applies (``"lm_head.weight"`` reaches a weight
    tied to ``embed_tokens.weight``); failing one, the module of its first name decides (a
    ``lm_head.weight`` tied to ``embed_tokens.weight`` follows the ``Embedding``'s rule).

    **Padding rows.** After everything else is written, the ``padding_idx`` row of every
    ``Embedding`` whose weight was filled (by any rule, through a tied module too) is zero,
    as PyTorch's own initialization leaves it.

    **Checks first.** ``rules`` and every parameter to fill are checked before the first
    one is written: a bad key or rule, a meta-device, lazy or otherwise unfillable parameter
    (a DTensor with a ``Partial`` placement, a CUDA shard with a native stream) raises and
    leaves the model untouched.  ``DTensor`` parameters (``fully_shard`` of FSDP2, tensor
    parallelism) are filled shard by shard by initializers: each rank writes only its local
    shard, with the values and fans of the global tensor (see :func:`fill_shard_`), so the
    gathered model is the one a single process initializes, provided every rank calls this
    with initializers built with the same seeds and at the same call indices.

    Examples
    --------
    >>> import torch, vscale, vscale.torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, groups=8), torch.nn.Linear(8, 4))
    >>> vscale.torch.init_module(net, vscale.HeNormal(seed=0))
    ['0.weight', '1.weight']
    >>> float(net[1].bias.detach().abs().sum())
    0.0

    An embedding tied to the output layer, normal(0, 0.02) for both, is filled once, and
    its padding row stays zero:

    >>> import functools
    >>> lm = torch.nn.Sequential(torch.nn.Embedding(10, 4, padding_idx=0), torch.nn.Linear(4, 10))
    >>> lm[1].weight = lm[0].weight
    >>> rules = {torch.nn.Embedding: functools.partial(torch.nn.init.normal_, std=0.02)}
    >>> vscale.torch.init_module(lm, "glorot_uniform", rules=rules)
    ['0.weight']
    >>> float(lm[1].weight.detach()[0].abs().sum()), float(lm[1].bias.detach().abs().sum())
    (0.0, 0.0)
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(module, torch.nn.Module):
        raise TypeError(f"Argument `module` must be a torch.nn.Module; received {type(module).__name__}.")
    if bias not in _BIAS_RULES:
        raise ValueError(f"Invalid `bias` argument: expected one of {_BIAS_RULES}; received bias={bias!r}.")
    patterns, types = _split_rules(rules, torch)
    if initializer is None and not (patterns or types):
        raise TypeError(
            "Argument `initializer` must be an initializer or an identifier for one when `rules` gives no rule; "
            f"received initializer=None, rules={short_repr(rules)}."
        )
    default = None if initializer is None else _initializer(initializer)
    plan: list[tuple[str | None, Callable[[], object]]] = []  # (name to list or None, the write)
    chosen: dict[int, Any] = {}  # id of each parameter considered -> its rule (None: left alone)
    written: set[int] = set()  # ids of the parameters an initializer or a callable fills
    targets: dict[int, Piece] = {}  # id -> where an initializer writes it
    aliases: dict[int, list[str]] = {}  # id -> every qualified name of the parameter (ties)
    for alias, param in module.named_parameters(remove_duplicate=False):
        aliases.setdefault(id(param), []).append(alias)
    for prefix, sub in module.named_modules():
        layout = weight_layout(sub)
        typed = next((rule for kind, rule in types if isinstance(sub, kind)), _NO_RULE)
        owner = default if typed is _NO_RULE and layout is not None and default is not None else typed
        for local, param in sub.named_parameters(recurse=False):
            if id(param) in chosen:  # tied or shared: already considered under its first name
                continue
            name = f"{prefix}.{local}" if prefix else local
            chosen[id(param)] = rule = _rule_for(aliases.get(id(param), [name]), local, patterns, typed, owner, bias)
            if isinstance(rule, str):  # "zeros" or "torch": the bias of a module whose weight is filled
                weight = getattr(sub, "weight", None)
                stream = _bias_stream(chosen.get(id(weight)), default)
                target = _check_parameter(param, name, stream if rule == "torch" else None, torch)
                plan.append((None, functools.partial(_reset_bias, stream, weight, target, rule, torch)))
            elif isinstance(rule, VarianceScaling):
                targets[id(param)] = target = _check_parameter(param, name, rule, torch)
                plan.append((name, functools.partial(_write, rule, target, layout if local == "weight" else None)))
                written.add(id(param))
            elif callable(rule):
                _check_parameter(param.to_local() if is_dtensor(param) else param, name, None, torch)
                plan.append((name, functools.partial(_call_fill, rule, param, torch)))
                written.add(id(param))
    padding = []
    for prefix, sub in module.named_modules():
        if isinstance(sub, torch.nn.Embedding) and sub.padding_idx is not None and id(sub.weight) in written:
            piece = targets.get(id(sub.weight))
            if piece is None:  # filled by a callable
                piece = _check_parameter(sub.weight, f"{prefix}.weight", None, torch)
            padding.append((piece, int(sub.padding_idx)))
    filled = []
    for name, write in plan:
        write()
        if name is not None:
            filled.append(name)
    for target, row in padding:
        _zero_row(target, row, torch)
    return filled


# A module that no rule names (distinct from None, the rule that keeps it).
_NO_RULE = object()


def _rule_for(names: list[str], local: str, patterns: list[tuple[str, Any]], typed: Any, owner: Any, bias: str) -> Any:
    """The rule of the parameter ``local`` (qualified: ``names``, every name a tied or shared
    parameter has) of a module whose type's rule is ``typed`` and whose weight's is
    ``owner``: the first name pattern that matches one of its names; else, for the bias,
    ``bias`` where the weight is filled; else the type's rule, or ``owner`` for the weight.
    ``None``: left alone."""
    for pattern, rule in patterns:
        if any(fnmatchcase(name, pattern) for name in names):
            return rule
    if local == "bias":
        return None if owner is None or owner is _NO_RULE or bias == "keep" else bias
    if typed is not _NO_RULE or local == "weight":
        return None if owner is _NO_RULE else owner
    return None


def _split_rules(rules: Any, torch: Any) -> tuple[list[tuple[str, Any]], list[tuple[type, Any]]]:
    """``rules`` checked, as (name patterns, module types): each a list of (key, rule) in the
    given order, a rule being ``None`` (keep), a ``VarianceScaling`` or a callable."""
    if rules is None:
        return [], []
    if isinstance(rules, Mapping):
        pairs = list(rules.items())
    elif isinstance(rules, (list, tuple)):
        pairs = list(rules)
    else:
        raise TypeError(
            "Argument `rules` must be a mapping or a sequence of (key, rule) pairs; "
            f"received an object of type {type(rules).__name__}. Nothing was written."
        )
    patterns: list[tuple[str, Any]] = []
    types: list[tuple[type, Any]] = []
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(
                "Argument `rules` must be a mapping or a sequence of (key, rule) pairs; "
                f"received the item {short_repr(pair)}. Nothing was written."
            )
        key, value = pair
        if isinstance(key, str):
            patterns.append((key, _rule(repr(key), value)))
        elif isinstance(key, type) and issubclass(key, torch.nn.Module):
            types.append((key, _rule(key.__name__, value)))
        else:
            raise TypeError(
                "A key of argument `rules` must be a parameter-name pattern (str) or a torch.nn.Module subclass; "
                f"received {short_repr(key)}. Nothing was written."
            )
    return patterns, types


def _rule(key: str, value: Any) -> Any:
    """The rule ``value`` of ``key``: ``None`` (keep), a ``VarianceScaling`` or a fill callable."""
    if value is None or (isinstance(value, str) and value == "keep"):
        return None
    if callable(value) and not isinstance(value, (VarianceScaling, type)):
        return value
    try:
        return get(value)
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"Argument `rules` maps {key} to {short_repr(value)}, which is not a rule: {error} A rule is anything "
            'vscale.get accepts, a callable fill(tensor), or None / "keep". Nothing was written.'
        ) from None


def _bias_stream(weight_rule: Any, default: VarianceScaling | None) -> VarianceScaling:
    """Whose stream the ``"torch"`` bias rule draws from: the initializer that filled the
    weight, else the default initializer, else an unseeded one (torch's default generator)."""
    if isinstance(weight_rule, VarianceScaling):
        return weight_rule
    return default if default is not None else VarianceScaling()


def _call_fill(fill: Callable[[Any], object], tensor: Any, torch: Any) -> None:
    with torch.no_grad():
        fill(tensor)


def _initializer(initializer: Any) -> VarianceScaling:
    init = get(initializer)
    if init is None:
        raise TypeError("Argument `initializer` must be an initializer or an identifier for one; received None.")
    return init


def _target(tensor: Any, subject: str) -> Piece:
    """The local piece of ``tensor`` if it is a DTensor, else the whole tensor."""
    return dtensor_piece(tensor, subject) if is_dtensor(tensor) else Piece(tensor, None, None)


def _offsets_region(offsets: Any, local: tuple[int, ...], dims: tuple[int, ...]) -> tuple[slice, ...]:
    """``offsets`` (where a piece of shape ``local`` starts in ``dims``) as a region."""
    if isinstance(offsets, (str, bytes)) or not hasattr(offsets, "__iter__"):
        raise TypeError(f"Argument `offsets` must be a sequence of integers; received {short_repr(offsets)}.")
    values = tuple(offsets)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"Argument `offsets` must be a sequence of integers; received offsets={short_repr(offsets)}.")
    if len(values) != len(dims) or len(local) != len(dims):
        raise ValueError(
            f"Argument `offsets` needs one offset per dimension of `shape` {dims} and of the tensor {local}; "
            f"received offsets={short_repr(offsets)}."
        )
    if any(v < 0 or v + n > d for v, n, d in zip(values, local, dims, strict=True)):
        raise ValueError(
            f"Argument `offsets` puts a piece of shape {local} outside the global shape {dims}; "
            f"received offsets={short_repr(offsets)}."
        )
    return tuple(slice(int(v), int(v) + n) for v, n in zip(values, local, strict=True))


def _write(
    init: VarianceScaling, target: Piece, layout: Any, generator: Any = None, subject: str = "Argument `tensor`"
) -> None:
    check_piece_stream(init.prng, target, subject)  # a piece is a DTensor's shard or already prepared
    init._fill(target.local, layout, generator, target.shape, target.region)


def _check_parameter(tensor: Any, name: str, init: VarianceScaling | None, torch: Any) -> Piece:
    """Where ``tensor`` is written, after refusing what cannot be: a lazy or meta-device
    parameter, a DTensor that is not one box, a piece that ``init``'s stream cannot compute
    alone (``init=None``: written without a stream)."""
    subject = f"Parameter {name!r} of argument `module`"
    if isinstance(tensor, torch.nn.parameter.UninitializedParameter):
        raise ValueError(
            f"{subject} is uninitialized (a lazy module); run a forward pass first so that its shape is known. "
            "Nothing was written."
        )
    try:
        target = _target(tensor, subject)
    except ValueError as error:
        raise ValueError(f"{error} Nothing was written.") from None
    try:
        prepare(target.local)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{subject} cannot be filled: {error} Nothing was written.") from None
    try:
        if init is not None:
            check_piece_stream(init.prng, target, subject)
    except ValueError as error:
        raise ValueError(f"{error} Nothing was written.") from None
    return target


def _zero_row(target: Piece, row: int, torch: Any) -> None:
    """Zero row ``row`` of the global tensor where this piece holds it (an Embedding's padding row)."""
    start = 0 if target.region is None else target.region[0].start
    if start <= row < start + int(target.local.shape[0]):
        with torch.no_grad():
            target.local[row - start].fill_(0)


def _reset_bias(init: VarianceScaling, weight: Any, bias: Piece, rule: str, torch: Any) -> None:
    # PyTorch's fan_in: the weight's second dimension times its receptive field (global shapes).
    dims = () if weight is None else tuple(int(d) for d in weight.shape)
    fan_in = dims[1] * math.prod(dims[2:]) if len(dims) >= 2 else 0
    if rule == "zeros" or fan_in == 0:
        with torch.no_grad():
            bias.local.zero_()
        return
    # U(-b, b) with b = 1/sqrt(fan_in) is VarianceScaling's uniform, whose limit is
    # sqrt(3 scale / n), for a 1-D bias of k values (n = k) with scale = b**2 k / 3.  It is
    # drawn as the next call of the initializer's own sequence, with its prng.
    count = max(1, math.prod(int(d) for d in (bias.local.shape if bias.shape is None else bias.shape)))
    uniform = VarianceScaling(count / (3.0 * fan_in), "fan_in", "uniform", init.seed, prng=cast(Prng, init.prng))
    if init.seed is not None:
        with init._lock:
            uniform._calls = init._calls
            init._calls += 1
    _write(uniform, bias, (None, None, "keras", 1))
