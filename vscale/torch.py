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
"""

from __future__ import annotations

import math
import sys
from typing import Any, Literal

from ._inplace import fill, prepare
from ._registry import get
from .initializers import VarianceScaling

__all__ = [
    "glorot_normal_",
    "glorot_uniform_",
    "he_normal_",
    "he_uniform_",
    "init_module",
    "lecun_normal_",
    "lecun_uniform_",
    "variance_scaling_",
    "weight_layout",
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
) -> Any:
    """Fill ``tensor`` in place with :class:`vscale.VarianceScaling` values and return it.

    Fans are read in PyTorch's layout (``layout="torch_transposed"`` for the weights of
    ``ConvTranspose*d``; ``groups`` for grouped convolutions).  ``generator`` is a
    ``torch.Generator`` (or ``numpy.random.Generator``); without one the key comes from
    torch's default generator of the tensor's device, so ``torch.manual_seed`` governs it.
    """
    init = VarianceScaling(scale, mode, distribution, layout=layout, groups=groups)  # type: ignore[arg-type]
    return init.fill_(tensor, generator=generator)


def _preset(scale: float, mode: str, distribution: str, name: str, paper: str) -> Any:
    def fill(tensor: Any, *, layout: TorchLayout = "torch", groups: int = 1, generator: Any = None) -> Any:
        return variance_scaling_(tensor, scale, mode, distribution, layout=layout, groups=groups, generator=generator)

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
        layout, drawn from ``initializer``'s stream (the call after the weight's), so a
        seeded initializer gives identical models identical biases.

    Every weight and bias is checked before the first one is written: a model with a
    meta-device, lazy or otherwise unfillable parameter raises and stays untouched.

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
    init = get(initializer)
    if init is None:
        raise TypeError("Argument `initializer` must be an initializer or an identifier for one; received None.")
    torch = sys.modules["torch"]
    plan = []
    for name, sub in module.named_modules():
        layout = weight_layout(sub)
        weight = getattr(sub, "weight", None)
        if layout is None or not isinstance(weight, torch.Tensor):
            continue
        bias_tensor = getattr(sub, "bias", None) if bias != "keep" else None
        for tensor in (weight, bias_tensor):
            if tensor is not None:
                _check_parameter(tensor, f"{name}.weight" if tensor is weight else f"{name}.bias", torch)
        plan.append((name, sub, layout, bias_tensor))
    filled = []
    for name, sub, layout, bias_tensor in plan:
        fill(init, sub.weight, layout)
        filled.append(f"{name}.weight" if name else "weight")
        if getattr(sub, "padding_idx", None) is not None:
            with torch.no_grad():
                sub.weight[sub.padding_idx].fill_(0)
        if bias_tensor is not None:
            _reset_bias(init, sub.weight, bias_tensor, bias, torch)
    return filled


def _check_parameter(tensor: Any, name: str, torch: Any) -> None:
    if isinstance(tensor, torch.nn.parameter.UninitializedParameter):
        raise ValueError(
            f"Parameter {name!r} of argument `module` is uninitialized (a lazy module); run a forward pass "
            "first so that its shape is known. Nothing was written."
        )
    try:
        prepare(tensor)
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"Parameter {name!r} of argument `module` cannot be filled: {error} Nothing was written."
        ) from None


def _reset_bias(init: VarianceScaling, weight: Any, bias: Any, rule: str, torch: Any) -> None:
    # PyTorch's fan_in: the weight's second dimension times its receptive field.
    fan_in = int(weight.shape[1]) * math.prod(int(d) for d in weight.shape[2:]) if weight.dim() >= 2 else 0
    if rule == "zeros" or fan_in == 0:
        with torch.no_grad():
            bias.zero_()
        return
    # U(-b, b) with b = 1/sqrt(fan_in) is VarianceScaling's uniform, whose limit is
    # sqrt(3 scale / n), for a 1-D bias of k values (n = k) with scale = b**2 k / 3.  It is
    # drawn as the next call of the initializer's own sequence.
    count = max(1, bias.numel())
    uniform = VarianceScaling(count / (3.0 * fan_in), "fan_in", "uniform", init.seed)
    if init.seed is not None:
        with init._lock:
            uniform._calls = init._calls
            init._calls += 1
    fill(uniform, bias, (None, None, "keras", 1))
