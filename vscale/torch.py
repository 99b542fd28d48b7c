"""PyTorch helpers: (re)initialize the weights of a module tree with a vscale initializer.

``import vscale.torch`` does not import torch either; :func:`init_module` finds it in
``sys.modules`` (a module object exists, so torch has been imported).
"""

from __future__ import annotations

import math
import sys
from typing import Any, Literal

from ._inplace import fill
from ._registry import get

BiasRule = Literal["zeros", "keep", "torch"]
_BIAS_RULES = ("zeros", "keep", "torch")


def weight_layout(module: Any) -> tuple[Any, ...] | None:
    """The fan layout vscale uses for ``module.weight``, or ``None`` for other modules.

    ``Linear`` and ``Conv1d/2d/3d`` store ``(out, in/groups, *kernel)``: ``"torch"``;
    ``ConvTranspose1d/2d/3d`` store ``(in, out/groups, *kernel)``: ``"torch_transposed"``;
    both with the module's ``groups``.  ``Embedding`` stores ``(num_embeddings, dim)``,
    the weight of a linear map from one-hot vectors, so it is read as ``(in, out)``
    (``"keras"``): ``fan_in = num_embeddings``, ``fan_out = embedding_dim``.
    """
    nn = sys.modules["torch"].nn
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return None, None, "torch_transposed", module.groups
    if isinstance(module, nn.modules.conv._ConvNd):
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
        ``"keep"`` (untouched), or ``"torch"``: PyTorch's own default,
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in`` from the (new) weight as
        ``torch.nn.init`` computes it.

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
    filled = []
    for name, sub in module.named_modules():
        layout = weight_layout(sub)
        if layout is None or not isinstance(getattr(sub, "weight", None), torch.Tensor):
            continue
        fill(init, sub.weight, layout)
        filled.append(f"{name}.weight" if name else "weight")
        if getattr(sub, "padding_idx", None) is not None:
            with torch.no_grad():
                sub.weight[sub.padding_idx].fill_(0)
        _reset_bias(sub, bias, torch)
    return filled


def _reset_bias(module: Any, rule: str, torch: Any) -> None:
    bias = getattr(module, "bias", None)
    if bias is None or rule == "keep":
        return
    with torch.no_grad():
        if rule == "zeros":
            bias.zero_()
        else:
            fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(module.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            bias.uniform_(-bound, bound)
