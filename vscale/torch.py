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

import math
import numbers
import sys
import warnings
from typing import Any, Literal, cast

from .api.fill import check_piece_stream, prepare
from .api.initializers import Prng, VarianceScaling
from .api.registry import get
from .api.validation import short_repr, validate_shape
from .backends.compat import is_dtensor
from .backends.torch import Piece, dtensor_piece

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
    return variance_scaling_(tensor, float(gain) ** 2, "fan_avg", distribution, generator=generator, prng=prng)


def xavier_uniform_(tensor: Any, gain: float = 1.0, generator: Any = None, *, prng: Prng = "native") -> Any:
    """``torch.nn.init.xavier_uniform_`` on vscale's streams: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    return _xavier_(tensor, gain, generator, prng, "uniform")


def xavier_normal_(tensor: Any, gain: float = 1.0, generator: Any = None, *, prng: Prng = "native") -> Any:
    """``torch.nn.init.xavier_normal_`` on vscale's streams: N(0, std**2),
    std = gain * sqrt(2 / (fan_in + fan_out)), not truncated (as torch's)."""
    return _xavier_(tensor, gain, generator, prng, "untruncated_normal")


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


def init_module(module: Any, initializer: Any, *, bias: BiasRule = "zeros") -> list[str]:
    """Fill the weights of every ``Linear``, ``Conv*d``, ``ConvTranspose*d`` and
    ``Embedding`` in ``module`` (itself included) in place, and return their names.

    The fans of each weight come from the module's type and ``groups`` (see
    :func:`weight_layout`), whatever the layout of ``initializer``.  Parameters of other
    modules (normalisation layers, attention's packed projections, RNNs) are left alone.
    An ``Embedding``'s ``padding_idx`` row is zeroed again, as PyTorch does.

    ``DTensor`` parameters (``fully_shard`` of FSDP2, tensor parallelism) are filled shard by
    shard: each rank writes only its local shard, with the values and fans of the global
    tensor (see :func:`fill_shard_`), so the gathered model is the one a single process
    initializes.  Every rank must then call this with an initializer built with the same
    seed and at the same call index.

    Parameters
    ----------
    module : torch.nn.Module
    initializer : VarianceScaling or identifier
        Anything :func:`vscale.get` accepts (``"he_uniform"``, an instance, a config).
        A seeded initializer gives each weight the next values of its sequence.
    bias : {"zeros", "keep", "torch"}, default "zeros"
        What happens to the biases of those modules: ``"zeros"`` (Keras' default),
        ``"keep"`` (untouched), or ``"torch"``: PyTorch's own default distribution,
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in`` of the weight in PyTorch's
        layout, drawn from ``initializer``'s stream (the call after the weight's, with its
        ``prng``), so a seeded initializer gives identical models identical biases.

    Every weight and bias is checked before the first one is written: a model with a
    meta-device, lazy or otherwise unfillable parameter (a DTensor with a ``Partial``
    placement, a CUDA shard with a native stream) raises and stays untouched.

    Returns
    -------
    list of str
        Qualified names of the weights that were filled.

    Examples
    --------
    >>> import torch, vscale, vscale.torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, groups=8), torch.nn.Linear(8, 4))
    >>> vscale.torch.init_module(net, vscale.HeNormal(seed=0))
    ['0.weight', '1.weight']
    >>> float(net[1].bias.detach().abs().sum())
    0.0
    """
    if "torch" not in sys.modules or not isinstance(module, sys.modules["torch"].nn.Module):
        raise TypeError(f"Argument `module` must be a torch.nn.Module; received {type(module).__name__}.")
    if bias not in _BIAS_RULES:
        raise ValueError(f"Invalid `bias` argument: expected one of {_BIAS_RULES}; received bias={bias!r}.")
    init = _initializer(initializer)
    torch = sys.modules["torch"]
    plan = []
    for name, sub in module.named_modules():
        layout = weight_layout(sub)
        weight = getattr(sub, "weight", None)
        if layout is None or not isinstance(weight, torch.Tensor):
            continue
        bias_tensor = getattr(sub, "bias", None) if bias != "keep" else None
        weight_target = _check_parameter(weight, f"{name}.weight", init, torch)
        bias_target = None
        if bias_tensor is not None:
            bias_target = _check_parameter(bias_tensor, f"{name}.bias", init, torch)
        plan.append((name, sub, layout, weight_target, bias_target))
    filled = []
    for name, sub, layout, weight_target, bias_target in plan:
        _write(init, weight_target, layout)
        filled.append(f"{name}.weight" if name else "weight")
        if getattr(sub, "padding_idx", None) is not None:
            _zero_row(weight_target, int(sub.padding_idx), torch)
        if bias_target is not None:
            _reset_bias(init, sub.weight, bias_target, bias, torch)
    return filled


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


def _check_parameter(tensor: Any, name: str, init: VarianceScaling, torch: Any) -> Piece:
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
    fan_in = int(weight.shape[1]) * math.prod(int(d) for d in weight.shape[2:]) if weight.dim() >= 2 else 0
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
