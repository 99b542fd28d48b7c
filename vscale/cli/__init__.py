"""The ``vscale`` command: look at an initializer before you use it.

``vscale show IDENTIFIER --shape ...`` prints the fans, ``n``, the standard deviation and
the support, draws the tensor on the chosen backend and device, and prints its statistics
and a histogram against the exact density; ``vscale bench`` times vscale against the
frameworks' own functions here (the full harness is the repository's ``benchmarks/``);
``vscale info`` says which compiled kernels run here.
Bad arguments print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

import vscale

from ..backends.compat import device
from ..core.complex import make_complex_transform
from ..engine.plan import thread_count
from ..kernels.host import status as kernel_status
from . import bench as _bench
from . import describe as _describe

EXIT_USAGE = 2


class UsageError(Exception):
    """An argument the command cannot use; reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vscale",
        description="Keras' VarianceScaling family on NumPy, PyTorch, CuPy and array-API namespaces.",
        epilog="Examples: vscale show he_normal --shape 3 3 64 128; "
        "vscale show 'VarianceScaling(scale=0.5, distribution=\"uniform\")' --shape 256 256 --backend torch; "
        "vscale bench",
    )
    parser.add_argument("--version", action="version", version=f"vscale {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    show = commands.add_parser(
        "show",
        help="describe an initializer for a shape, draw it, and print statistics and a histogram",
        description="Print the fans, n, standard deviation and support of an initializer for a shape, "
        "then draw the tensor and print its statistics against the exact distribution and a "
        "histogram against the exact density.",
    )
    show.add_argument(
        "identifier",
        metavar="IDENTIFIER",
        help="a preset name (he_normal, GlorotUniform, ...), a spec like "
        "'VarianceScaling(scale=2.0, mode=\"fan_out\")', or a JSON config "
        '(\'{"class_name": "HeNormal", "config": {"seed": 1}}\' or \'{"scale": 2.0}\')',
    )
    show.add_argument(
        "--shape", type=int, nargs="+", required=True, metavar="N", help="the weight shape, e.g. 3 3 64 128"
    )
    show.add_argument("--backend", default="numpy", choices=("numpy", "torch", "cupy", "array_api_strict"),
                      help="array library to draw with (default: numpy)")  # fmt: skip
    show.add_argument(
        "--device", default=None, help="device of the backend, e.g. cpu, cuda, cuda:1 (default: the backend's)"
    )
    show.add_argument("--dtype", default=None, help="float16, bfloat16, float32 or float64 (default: vscale.floatx())")
    show.add_argument(
        "--seed", type=int, default=None, help="seed for the draw (default: the identifier's, else fresh entropy)"
    )
    show.add_argument("--layout", default=None, help="weight layout: keras, torch or torch_transposed")
    show.add_argument("--groups", type=int, default=None, help="convolution groups, with a torch layout")
    show.add_argument("--bins", type=int, default=24, help="histogram bins (default: 24)")
    show.add_argument(
        "--plot", metavar="FILE.png", default=None, help="also write a Matplotlib figure (needs matplotlib)"
    )
    show.add_argument("--json", action="store_true", help="print the facts as JSON instead of text")
    show.set_defaults(run=run_show)

    bench = commands.add_parser(
        "bench",
        help="a quick check: vscale against NumPy's and torch's own functions on this machine",
        description=_bench.__doc__.strip().splitlines()[0] if _bench.__doc__ else None,
    )
    _bench.add_arguments(bench)
    bench.set_defaults(run=_bench.run)

    info = commands.add_parser(
        "info",
        help="print the version, the compiled kernels in use and the installed frameworks",
        description="Print vscale's version, whether its compiled CPU kernels are installed and enabled "
        "(and which instruction set they run with), the thread count, and the installed frameworks.",
    )
    info.add_argument("--json", action="store_true", help="print the facts as JSON")
    info.set_defaults(run=run_info)
    return parser


def _version() -> str:
    kernels = kernel_status()
    if not kernels["compiled"]:
        return f"{vscale.__version__} (array operations: built without its compiled kernels)"
    return f"{vscale.__version__} ({kernels['kernels']} compiled kernels, {kernels['instruction set']})"


def info_facts() -> dict[str, Any]:
    """What ``vscale info`` prints: version, kernels, threads, frameworks (found, not imported)."""
    frameworks: dict[str, str | None] = {}
    for name in ("numpy", "torch", "cupy-cuda12x", "jax", "dask", "array-api-strict"):
        try:
            frameworks[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            frameworks[name] = None
    return {
        "vscale": vscale.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "kernels": kernel_status(),
        "threads": thread_count(),
        "frameworks": frameworks,
    }


def run_info(args: argparse.Namespace) -> int:
    facts = info_facts()
    if args.json:
        print(json.dumps(facts, indent=1))
        return 0
    kernels = facts["kernels"]
    if not kernels["compiled"]:
        state = f"not installed ({kernels['missing because']}): array operations, same values, slower"
    elif not kernels["enabled"]:
        state = f"{kernels['kernels']} compiled, turned off by VSCALE_KERNELS=0: array operations"
    else:
        state = f"{kernels['kernels']} compiled, in use, running with {kernels['instruction set']}"
    installed = ", ".join(f"{name} {version}" for name, version in facts["frameworks"].items() if version)
    print(f"vscale {facts['vscale']} on Python {facts['python']} ({facts['machine']})")
    print(f"CPU kernels: {state}")
    print(f"threads: {facts['threads']} (VSCALE_NUM_THREADS)")
    print(f"frameworks: {installed or 'none'}")
    return 0


def resolve_identifier(text: str) -> Any:
    """An initializer from a preset name, a ``Name(key=value, ...)`` spec or a JSON config."""
    text = text.strip()
    if text.startswith("{"):
        try:
            config = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(f"IDENTIFIER looks like JSON but does not parse: {error}") from None
        if isinstance(config, dict) and "class_name" not in config:
            return vscale.VarianceScaling.from_config(config)
        return vscale.get(config)
    if "(" in text:
        return _from_spec(text)
    return vscale.get(text)


def _from_spec(text: str) -> Any:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise UsageError(f"IDENTIFIER {text!r} is not a Name(key=value, ...) spec") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise UsageError(f"IDENTIFIER {text!r} is not a Name(key=value, ...) spec")
    names = [kw.arg for kw in node.keywords]
    if None in names:
        raise UsageError(f"IDENTIFIER {_clip(text)}: write the arguments out (key=value); ** is not supported")
    repeated = sorted({n for n in names if names.count(n) > 1 and n is not None})
    if repeated:
        raise UsageError(f"IDENTIFIER {_clip(text)} gives {repeated} more than once")
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None}
    except ValueError:
        raise UsageError(f"IDENTIFIER {_clip(text)}: arguments must be literals (numbers, strings, None)") from None
    template = vscale.get(node.func.id)
    assert template is not None  # get() returns None only for None
    return type(template)(*args, **kwargs)


def _clip(text: str, limit: int = 80) -> str:
    """``repr(text)``, shortened for one-line messages."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def _with_overrides(init: Any, args: argparse.Namespace) -> Any:
    overrides = {
        k: v for k, v in (("seed", args.seed), ("layout", args.layout), ("groups", args.groups)) if v is not None
    }
    if not overrides:
        return init
    config = init.get_config()
    config.update(overrides)
    return type(init).from_config(config)


def describe(args: argparse.Namespace) -> dict[str, Any]:
    """Everything ``show`` reports, as a JSON-serializable dict."""
    init = _with_overrides(resolve_identifier(args.identifier), args)
    shape = tuple(args.shape)
    params = init.parameters(shape)
    values = init(shape, args.dtype, xp=args.backend, device=args.device)
    dtype = args.dtype or vscale.floatx()
    host = _to_numpy(values)
    low_precision = dtype in ("float16", "bfloat16")
    is_complex = str(dtype).endswith(("complex64", "complex128"))
    facts: dict[str, Any] = {
        "initializer": repr(init),
        "config": init.get_config(),
        "shape": list(shape),
        "dtype": dtype,
        "backend": args.backend,
        "device": str(_device_of(values)),
        "fan_in": params.fan_in,
        "fan_out": params.fan_out,
        "n": params.n,
        "stddev": params.stddev,
        "sigma": params.sigma,
        "support": [-params.bound, params.bound],
    }
    if is_complex:
        bound = make_complex_transform(init.distribution, params.stddev).bound
        facts["complex"] = True
        facts["support"] = [0.0, bound]  # of the modulus |w|
        facts["statistics"] = _describe.complex_statistics(host, init.distribution, params.stddev)
        if host.size:
            facts["histogram"] = _describe.modulus_histogram(host, init.distribution, params.stddev, args.bins)
    else:
        facts["statistics"] = _describe.sample_statistics(host, init.distribution, params.stddev, low_precision)
        if host.size:
            facts["histogram"] = _describe.histogram(host, init.distribution, params.stddev, params.bound, args.bins)
    facts["_values"] = host
    return facts


def _to_numpy(values: Any) -> Any:
    if hasattr(values, "detach"):  # torch, bfloat16 included
        tensor = values.detach().cpu()
        return (tensor if tensor.is_complex() else tensor.float()).numpy()
    if hasattr(values, "get") and type(values).__module__.startswith("cupy"):
        return values.get()
    if type(values).__module__.startswith("array_api_strict"):
        return np.from_dlpack(values)
    return np.asarray(values)


def _device_of(values: Any) -> Any:
    return device(values)


def _format_complex(facts: dict[str, Any], lines: list[str]) -> str:
    stats = facts["statistics"]
    lines[4] = f"support      |w| <= {facts['support'][1]:.6g}  (the modulus; the angle is uniform)"
    if stats["count"]:
        lines += [
            f"E|w|^2       {stats['second_moment_ratio']:.4f} x stddev^2  (expected 1)",
            f"|mean|       {stats['mean_abs']:.4g}  (expected 0)",
            f"parts' std   real {stats['real_std']:.6g}, imag {stats['imag_std']:.6g}  "
            f"(expected {stats['part_std_expected']:.6g} each)",
            f"max |w|      {stats['max_modulus']:.6g}   non-finite: {stats['nan_or_inf']}",
        ]
        if stats.get("ks_statistic") is not None:
            lines.append(
                f"KS           D={stats['ks_statistic']:.4g}  p={stats['ks_pvalue']:.3g}  (|w| against its exact CDF)"
            )
        lines.append("histogram    of |w|: █ observed count; | expected count from the exact density")
        lines += _describe.render_histogram(facts["histogram"])
    return "\n".join(lines)


def format_text(facts: dict[str, Any]) -> str:
    stats = facts["statistics"]
    lines = [
        f"initializer  {facts['initializer']}",
        f"tensor       shape {tuple(facts['shape'])}, {facts['dtype']}, {facts['backend']} on {facts['device']}",
        f"fans         fan_in={facts['fan_in']}  fan_out={facts['fan_out']}  n={facts['n']:g}",
        f"stddev       {facts['stddev']:.6g}"
        + (f"  (normal before truncation: sigma={facts['sigma']:.6g})" if facts["sigma"] != facts["stddev"] else ""),
        f"support      [{facts['support'][0]:.6g}, {facts['support'][1]:.6g}]",
        f"drawn        {stats['count']} values",
    ]
    if facts.get("complex"):
        return _format_complex(facts, lines)
    if stats["count"]:
        lines += [
            f"mean         {stats['mean']:+.4g}  (expected 0; standard error {stats['mean_standard_error']:.2g})",
            f"std          {stats['std']:.6g}  (expected {facts['stddev']:.6g}; ratio {stats['std_ratio']:.4f})",
            f"min / max    {stats['min']:+.6g} / {stats['max']:+.6g}   non-finite: {stats['nan_or_inf']}",
        ]
        if "distinct_values" in stats:
            lines.append(f"distinct     {stats['distinct_values']} different {facts['dtype']} values")
        if stats.get("ks_statistic") is not None:
            lines.append(
                f"KS           D={stats['ks_statistic']:.4g}  p={stats['ks_pvalue']:.3g}  (against the exact CDF)"
            )
        else:
            lines.append("KS           (install scipy for the Kolmogorov-Smirnov statistic)")
        lines.append("histogram    █ observed count; | expected count from the exact density (╪ inside a bar)")
        lines += _describe.render_histogram(facts["histogram"])
    return "\n".join(lines)


def write_plot(facts: dict[str, Any], path: str) -> None:
    try:
        import matplotlib  # optional: only --plot needs it

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # optional, as above
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'vscale[plot]'") from None

    values = facts["_values"].ravel()
    support = facts["support"]
    distribution = facts["config"].get("distribution", "truncated_normal")
    reach = support[1] if math.isfinite(support[1]) else 4.0 * facts["stddev"]
    low = 0.0 if facts.get("complex") else -reach
    exact: Any
    if facts.get("complex"):  # the modulus, against its exact density
        values = np.abs(values.astype(np.complex128))
        exact = _describe.modulus_density
    else:
        exact = _describe.density
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.hist(values, bins=max(10, len(facts.get("histogram", {}).get("observed", [])) * 2), range=(low, reach),
            density=True, color="#7aa6c2", label="drawn values" if low else "drawn |w|")  # fmt: skip
    grid = np.linspace(low, reach, 400)
    ax.plot(grid, exact(distribution, facts["stddev"], grid), color="#c0392b", label="exact density")
    ax.set_title(
        f"{facts['initializer']}\nshape {tuple(facts['shape'])}, {facts['dtype']}, {facts['backend']}", fontsize=8
    )
    ax.set_xlabel("value")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


#: More bins than a terminal or a figure can show, and each costs memory.
MAX_BINS = 10_000


def run_show(args: argparse.Namespace) -> int:
    if not 2 <= args.bins <= MAX_BINS:
        raise UsageError(f"--bins must be between 2 and {MAX_BINS}; received {args.bins}")
    if args.plot:
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder):
            raise UsageError(f"--plot: the folder {folder!r} does not exist")
    facts = describe(args)
    if args.plot:
        write_plot(facts, args.plot)
    facts.pop("_values")
    if args.json:
        print(json.dumps(_jsonable(facts), indent=2))
    else:
        print(format_text(facts))
        if args.plot:
            print(f"plot         written to {args.plot}")
    return 0


def _jsonable(value: Any) -> Any:
    """Strict JSON: infinite bounds (the untruncated normal's support) become "inf"/"-inf"."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours; silence the final flush.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except (UsageError, ValueError, TypeError, KeyError, OSError, MemoryError, RecursionError) as error:
        # Bad input of any kind gets one line and status 2, never a traceback: a spec or
        # config too deep for the parser (RecursionError), too large (MemoryError), a file
        # that cannot be written (OSError).
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        message = message if len(message) <= 300 else message[:297] + "..."
        print(f"vscale {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
