"""Whole-model initialization: vscale against the model libraries' own rules, per parameter.

Builds a Llama-style decoder (~162M parameters) and a ViT-B/16 (~86M) as plain ``torch.nn``
modules on the CPU in float32, then times how long each contender takes to initialize every
``Linear``, ``Embedding`` and ``Conv2d`` weight of the model (zeroing the biases, leaving norms,
the class token and the position embedding alone):

* ``hf``: ``torch.nn.init.normal_(w, 0.0, 0.02)``, HF transformers' ``_init_weights``;
* ``timm``: ``torch.nn.init.trunc_normal_(w, std=0.02)``, whose default bounds (-2, 2) are
  absolute, so it is effectively untruncated;
* ``trunc2sigma``: ``trunc_normal_(w, std=0.02, a=-0.04, b=0.04)``, a true ±2σ truncation;
* ``vscale-{trunc,normal}-{native,threefry}``: ``vscale.torch.init_module`` with
  ``VarianceScaling(1.0, "fan_in", "truncated_normal" / "untruncated_normal", seed=0, prng=...)``.

Every repeat runs each contender once, in an order that rotates from repeat to repeat, so
that the contenders are paired and interleaved (a noisy machine slows them alike); one
untimed warm-up round comes first.  The table gives, per model and contender, the median
nanoseconds per initialized parameter, the min-max spread, the median's ratio to ``hf``'s
and to ``timm``'s (below 1: faster), and how many times faster than ``trunc2sigma`` it is.

Run from the repository root::

    python -m benchmarks.model_init [--models llama,vit] [--repeats 5] [--threads N] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import vscale
import vscale.torch
from vscale.engine.plan import thread_count

# The module types whose weight every contender fills: those vscale.torch.init_module fills
# in these models (it also knows Conv1d/3d and ConvTranspose*d, which they do not contain).
FILLED = (nn.Linear, nn.Embedding, nn.Conv2d)

# ---------------------------------------------------------------------------- models


@dataclass(frozen=True)
class LlamaConfig:
    """Sizes of the Llama-style decoder (the defaults give ~162M parameters)."""

    vocab: int = 32000
    hidden: int = 768
    mlp: int = 3072
    layers: int = 12
    heads: int = 12


@dataclass(frozen=True)
class ViTConfig:
    """Sizes of the ViT (the defaults are ViT-B/16 on 224x224 images, ~86M parameters)."""

    image: int = 224
    patch: int = 16
    dim: int = 768
    mlp: int = 3072
    depth: int = 12
    heads: int = 12
    classes: int = 1000


class RMSNorm(nn.Module):
    """Llama's RMSNorm: a scale per feature, no bias (not ``nn.RMSNorm``, to keep old torch)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LlamaBlock(nn.Module):
    """Pre-norm attention and SwiGLU MLP, every projection without bias, as in Llama.

    Rotary position embedding has no parameters and is left out: the forward only shows the
    wiring; the benchmark never calls it.
    """

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.input_layernorm = RMSNorm(cfg.hidden)
        self.q_proj = nn.Linear(cfg.hidden, cfg.hidden, bias=False)
        self.k_proj = nn.Linear(cfg.hidden, cfg.hidden, bias=False)
        self.v_proj = nn.Linear(cfg.hidden, cfg.hidden, bias=False)
        self.o_proj = nn.Linear(cfg.hidden, cfg.hidden, bias=False)
        self.post_attention_layernorm = RMSNorm(cfg.hidden)
        self.gate_proj = nn.Linear(cfg.hidden, cfg.mlp, bias=False)
        self.up_proj = nn.Linear(cfg.hidden, cfg.mlp, bias=False)
        self.down_proj = nn.Linear(cfg.mlp, cfg.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_layernorm(x)
        x = x + self.o_proj(_attention(self.q_proj(h), self.k_proj(h), self.v_proj(h), self.heads, causal=True))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    """A Llama-style decoder: embedding, blocks, final RMSNorm, untied ``lm_head``."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab, cfg.hidden)
        self.layers = nn.ModuleList(LlamaBlock(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.hidden)
        self.lm_head = nn.Linear(cfg.hidden, cfg.vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


class ViTBlock(nn.Module):
    """Pre-norm block of timm's ViT: LayerNorm, packed qkv with bias, proj, GELU MLP."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
        self.proj = nn.Linear(cfg.dim, cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.fc1 = nn.Linear(cfg.dim, cfg.mlp)
        self.fc2 = nn.Linear(cfg.mlp, cfg.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        x = x + self.proj(_attention(q, k, v, self.heads, causal=False))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    """ViT with a class token and learned position embedding, as timm's ``vit_base_patch16_224``."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        tokens = (cfg.image // cfg.patch) ** 2 + 1
        self.patch_embed = nn.Conv2d(3, cfg.dim, cfg.patch, stride=cfg.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, cfg.dim))
        self.blocks = nn.ModuleList(ViTBlock(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Linear(cfg.dim, cfg.classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, *, causal: bool) -> torch.Tensor:
    batch, length, dim = q.shape

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(batch, length, heads, dim // heads).transpose(1, 2)

    out = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=causal)
    return out.transpose(1, 2).reshape(batch, length, dim)


def build(name: str, quick: bool) -> nn.Module:
    """The model ``name`` ("llama" or "vit") on the CPU in float32; ``quick``: a small one.

    Torch's own default initialization runs here, outside any timing.
    """
    with torch.device("cpu"):
        if name == "llama":
            cfg = LlamaConfig(vocab=4000, hidden=256, mlp=1024, layers=2, heads=4) if quick else LlamaConfig()
            return Llama(cfg).float()
        cfg_vit = ViTConfig(dim=192, mlp=768, depth=2, heads=3) if quick else ViTConfig()
        return ViT(cfg_vit).float()


def filled_modules(model: nn.Module) -> list[nn.Module]:
    """The modules whose weight (and bias, if any) every contender writes."""
    return [m for m in model.modules() if isinstance(m, FILLED)]


def filled_count(model: nn.Module) -> int:
    """Number of parameters every contender writes: weights and biases of :data:`FILLED`."""
    return sum(p.numel() for m in filled_modules(model) for p in (m.weight, getattr(m, "bias", None)) if p is not None)


# ----------------------------------------------------------------------- contenders


def _torch_rule(fill: Callable[[torch.Tensor], Any]) -> Callable[[nn.Module], None]:
    """A model initializer that applies ``fill`` to every weight and zeroes biases, the way
    ``_init_weights`` of HF and ``init_weights`` of timm walk the modules."""

    def init(model: nn.Module) -> None:
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, FILLED):
                    fill(module.weight)
                    if getattr(module, "bias", None) is not None:
                        module.bias.zero_()

    return init


def _vscale_rule(distribution: str, prng: str) -> Callable[[nn.Module], None]:
    # One seeded initializer per contender, built outside the timing: every call continues
    # its sequence, as a training script's initializer would, and costs what a fresh one does.
    initializer = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)  # type: ignore[arg-type]

    def init(model: nn.Module) -> None:
        vscale.torch.init_module(model, initializer)

    return init


def contenders() -> dict[str, Callable[[nn.Module], None]]:
    """Name to model initializer, in the table's order."""
    return {
        "hf": _torch_rule(lambda w: nn.init.normal_(w, 0.0, 0.02)),
        "timm": _torch_rule(lambda w: nn.init.trunc_normal_(w, std=0.02)),
        "trunc2sigma": _torch_rule(lambda w: nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)),
        "vscale-trunc-native": _vscale_rule("truncated_normal", "native"),
        "vscale-normal-native": _vscale_rule("untruncated_normal", "native"),
        "vscale-trunc-threefry": _vscale_rule("truncated_normal", "threefry"),
        "vscale-normal-threefry": _vscale_rule("untruncated_normal", "threefry"),
    }


# -------------------------------------------------------------------------- timing


def rotations(names: list[str], repeats: int) -> Iterator[list[str]]:
    """The order of each repeat: ``names`` rotated by the repeat's index, so every contender
    runs in every position and none always follows the same neighbour's cache state."""
    for r in range(repeats):
        shift = r % len(names)
        yield names[shift:] + names[:shift]


def time_once(init: Callable[[nn.Module], None], model: nn.Module) -> float:
    """Seconds for one initialization of ``model``."""
    # A collection in the middle of a run would be charged to whichever contender it hit.
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        init(model)
        return time.perf_counter() - start
    finally:
        gc.enable()


def check_vscale_fills(model: nn.Module) -> None:
    """Fail loudly if ``init_module`` would leave a weight that the torch rules fill, which
    would make the comparison unfair."""
    names = vscale.torch.init_module(model, vscale.VarianceScaling(1.0, "fan_in", seed=0))
    expected = [f"{n}.weight" for n, m in model.named_modules() if isinstance(m, FILLED)]
    if names != expected:
        missing = sorted(set(expected) - set(names))
        raise SystemExit(f"vscale.torch.init_module filled {len(names)} weights, expected {len(expected)}: {missing}")


def bench_model(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build model ``name``, run the warm-up round and the timed repeats; return the record."""
    model = build(name, args.quick)
    total = sum(p.numel() for p in model.parameters())
    filled = filled_count(model)
    check_vscale_fills(model)
    rules = contenders()
    names = list(rules)
    for contender in names:  # warm-up: first-call costs (allocator, thread pools, kernels)
        time_once(rules[contender], model)
    seconds: dict[str, list[float]] = {c: [] for c in names}
    orders = []
    for order in rotations(names, args.repeats):
        orders.append(order)
        for contender in order:
            seconds[contender].append(time_once(rules[contender], model))
    del model
    gc.collect()
    ns = {c: [1e9 * s / filled for s in seconds[c]] for c in names}
    medians = {c: statistics.median(v) for c, v in ns.items()}
    return {
        "model": name,
        "parameters": total,
        "initialized_parameters": filled,
        "orders": orders,
        "seconds": seconds,
        "ns_per_parameter": ns,
        "median_ns_per_parameter": medians,
        "ratio_to_hf": {c: medians[c] / medians["hf"] for c in names},
        "ratio_to_timm": {c: medians[c] / medians["timm"] for c in names},
        "times_faster_than_trunc2sigma": {c: medians["trunc2sigma"] / medians[c] for c in names},
    }


# -------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    """What the numbers were measured on, for the JSON record."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "usable_cpus": len(affinity(0)) if affinity else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "VSCALE_NUM_THREADS": os.environ.get("VSCALE_NUM_THREADS"),
        "vscale_threads": thread_count(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "vscale": vscale.__version__,
    }


def _load() -> float | None:
    """The 1-minute load average, where the platform has one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def table(records: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """The printed report: a header, and per model a title and one row per contender."""
    lines = [
        f"ns per initialized parameter: median [min-max] of {args.repeats} paired, rotated repeats after a warm-up; "
        f"torch {torch.__version__} (threads: {torch.get_num_threads()}), vscale {vscale.__version__} (threads: {thread_count()})",
        "/hf, /timm: median over hf's, timm's median (<1 is faster); x2sig: times faster than trunc2sigma",
    ]
    for rec in records:
        lines.append(
            f"{rec['model']}: {rec['parameters']:,} parameters, {rec['initialized_parameters']:,} initialized"
            " (Linear/Embedding/Conv weights and biases)"
        )
        lines.append(f"  {'contender':<23} {'median':>7} {'[min-max]':<15} {'/hf':>6} {'/timm':>6} {'x2sig':>6}")
        for c, med in rec["median_ns_per_parameter"].items():
            values = rec["ns_per_parameter"][c]
            spread = f"[{min(values):.2f}-{max(values):.2f}]"
            # Explicit single spaces between fields: a wide value shifts the row, never merges two fields.
            lines.append(
                f"  {c:<23} {med:>7.2f} {spread:<15} {rec['ratio_to_hf'][c]:>6.2f} {rec['ratio_to_timm'][c]:>6.2f}"
                f" {rec['times_faster_than_trunc2sigma'][c]:>6.2f}"
            )
    # The contenders fill the same tensors but not with the same spread: say so next to the speeds.
    lines.append(
        "note: vscale's std is sqrt(1/fan_in) per weight (Embedding: fan_in = vocab), the others' 0.02; "
        "norms, cls and pos embeddings untouched by all"
    )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_init", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="llama,vit", help="comma-separated: llama, vit (default: both)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds after one warm-up round (default 5)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads and VSCALE_NUM_THREADS (default: as is)")
    parser.add_argument("--json", metavar="PATH", help="write the raw timings, medians and machine here")
    parser.add_argument("--quick", action="store_true", help="small models (2 layers), for a smoke test")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - {"llama", "vit"})
    if unknown or not args.models:
        parser.error(f"--models takes llama and/or vit; received {unknown or 'nothing'}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        # vscale reads it at every fill, so setting it here, after import, is enough.
        os.environ["VSCALE_NUM_THREADS"] = str(args.threads)
    # The load before and after tells a reader of the JSON whether a co-tenant was busy.
    load_before = _load()
    start = time.perf_counter()
    records = [bench_model(name, args) for name in args.models]
    lines = table(records, args)
    wall = time.perf_counter() - start
    lines.append(f"wall time {wall:.1f} s")
    print("\n".join(lines))
    if args.json:
        record = {
            "benchmark": "model_init",
            "command": " ".join(["python -m benchmarks.model_init", *(argv if argv is not None else sys.argv[1:])]),
            "repeats": args.repeats,
            "quick": args.quick,
            "threads": args.threads,
            "machine": machine(),
            "wall_seconds": wall,
            "load_average_1min": {"before": load_before, "after": _load()},
            "models": records,
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
