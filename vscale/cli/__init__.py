"""The ``vscale`` command: look at an initializer before you use it.

``vscale show IDENTIFIER --shape ...`` prints the fans, ``n``, the standard deviation and
the support, draws the tensor on the chosen backend and device, and prints its statistics
and a histogram against the exact density; ``vscale bench`` times vscale against the
frameworks' own functions here (the full harness is the repository's ``benchmarks/``);
``vscale info`` says which compiled kernels run here.
Bad input of any kind gets one usage line and one ``vscale: error: ...`` line and exit
status 2 (:mod:`vscale.cli.errors`).
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
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import vscale

from ..api.config import FLOAT_NAMES
from ..api.registry import INITIALIZER_NAMES
from ..api.validation import DISTRIBUTION_ALIASES, LAYOUTS, MODES, PRNGS
from ..backends import BACKEND_NAMES
from ..backends.compat import device
from ..core.complex import make_complex_transform
from ..core.precision import COMPLEX_PARTS
from ..core.transforms import DISTRIBUTIONS
from ..engine.plan import thread_count
from ..kernels.host import status as kernel_status
from . import bench as _bench
from . import describe as _describe
from .errors import Parser, UsageError, clip, did_you_mean, integer, one_line, report, writable

SHOW_BACKENDS = (*BACKEND_NAMES, "dask")
DTYPES = (*FLOAT_NAMES, *COMPLEX_PARTS)
#: More values than ``show``'s statistics should hold in memory (float64 copies, a sort for
#: the KS statistic): 2**27 values is 1 GiB as float64.
MAX_SHOW_VALUES = 2**27
#: More bins than a terminal or a figure can show, and each costs memory.
MAX_BINS = 10_000


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="vscale",
        usage="%(prog)s [-h] [--version] {show,bench,info} ...",
        description="Keras' VarianceScaling family on NumPy, PyTorch, CuPy, JAX and array-API namespaces.",
        epilog="Examples: vscale show he_normal --shape 3 3 64 128; "
        "vscale show 'VarianceScaling(scale=0.5, distribution=\"uniform\")' --shape 256 256 --backend torch; "
        "vscale bench. Bad input: one usage line, 'vscale: error: ...' and exit status 2.",
    )
    parser.add_argument("--version", action="version", version=f"vscale {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser,
                                     help="show, bench or info (vscale COMMAND --help for each)")  # fmt: skip
    commands.required = True

    show = commands.add_parser(
        "show",
        usage="vscale show IDENTIFIER --shape N [N ...] [--backend NAME] [--dtype NAME] [--seed N] [options]",
        help="describe an initializer for a shape, draw it, and print statistics and a histogram",
        description="Print the fans, n, standard deviation and support of an initializer for a shape, "
        "then draw the tensor and print its statistics against the exact distribution and a "
        "histogram against the exact density.",
    )
    show.add_argument(
        "identifier",
        metavar="IDENTIFIER",
        help=f"a preset name ({', '.join(INITIALIZER_NAMES[1::2])}, or in CamelCase), a spec like "
        "'VarianceScaling(scale=2.0, mode=\"fan_out\")', or a JSON config "
        '(\'{"class_name": "HeNormal", "config": {"seed": 1}}\' or \'{"scale": 2.0}\')',
    )
    show.add_argument("--shape", type=integer(0, MAX_SHOW_VALUES), nargs="+", required=True, metavar="N",
                      help=f"the weight shape, e.g. 3 3 64 128: dimensions from 0, "
                      f"at most {MAX_SHOW_VALUES:,} values in all")  # fmt: skip
    show.add_argument("--backend", default="numpy", choices=SHOW_BACKENDS, metavar="NAME",
                      help="array library to draw with: %(choices)s (default: %(default)s); "
                      "cupy needs a GPU")  # fmt: skip
    show.add_argument("--device", default=None,
                      help="device of the backend, e.g. cpu, cuda, cuda:1 (default: the backend's)")  # fmt: skip
    show.add_argument("--dtype", default=None, choices=DTYPES, metavar="NAME",
                      help="%(choices)s (default: vscale.floatx(), float32 unless set); "
                      "complex dtypes report the modulus |w|")  # fmt: skip
    show.add_argument("--seed", type=integer(0), default=None, metavar="N",
                      help="seed for the draw, a whole number >= 0 (default: the identifier's, else fresh entropy)")  # fmt: skip
    show.add_argument("--layout", default=None, choices=LAYOUTS, metavar="NAME",
                      help="weight layout for the fans: %(choices)s (default: the identifier's, else keras)")  # fmt: skip
    show.add_argument("--groups", type=integer(1), default=None, metavar="N",
                      help="convolution groups, with a torch layout: a whole number >= 1 (default: 1)")  # fmt: skip
    show.add_argument("--bins", type=integer(2, MAX_BINS), default=24, metavar="N",
                      help=f"histogram bins, 2 to {MAX_BINS:,} (default: %(default)s)")  # fmt: skip
    show.add_argument(
        "--plot", metavar="FILE.png", default=None, help="also write a Matplotlib figure (needs matplotlib)"
    )
    show.add_argument("--json", action="store_true", help="print the facts as JSON instead of text")
    show.set_defaults(run=run_show, parser=show)

    bench = commands.add_parser(
        "bench",
        usage=_bench.USAGE,
        help="a quick check: vscale against NumPy's, torch's and JAX's own functions on this machine",
        description=_bench.DESCRIPTION,
    )
    _bench.add_arguments(bench)
    bench.set_defaults(run=_bench.run, parser=bench)

    info = commands.add_parser(
        "info",
        usage="vscale info [--json]",
        help="print the version, the compiled kernels in use and the installed frameworks",
        description="Print vscale's version, whether its compiled CPU kernels are installed and enabled "
        "(and which instruction set they run with), the thread count, and the installed frameworks.",
    )
    info.add_argument("--json", action="store_true", help="print the facts as JSON")
    info.set_defaults(run=run_info, parser=info)
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
            return _suggesting(lambda: vscale.VarianceScaling.from_config(config), None, config)
        inner = config.get("config") if isinstance(config, dict) else None
        name = config.get("class_name") if isinstance(config, dict) else None
        return _suggesting(lambda: vscale.get(config), name, inner if isinstance(inner, dict) else {})
    if "(" in text:
        return _from_spec(text)
    return _suggesting(lambda: vscale.get(text), text, {})


def _from_spec(text: str) -> Any:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise UsageError(f"IDENTIFIER {clip(text)} is not a Name(key=value, ...) spec") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise UsageError(f"IDENTIFIER {clip(text)} is not a Name(key=value, ...) spec")
    names = [kw.arg for kw in node.keywords]
    if None in names:
        raise UsageError(f"IDENTIFIER {clip(text)}: write the arguments out (key=value); ** is not supported")
    repeated = sorted({n for n in names if names.count(n) > 1 and n is not None})
    if repeated:
        raise UsageError(f"IDENTIFIER {clip(text)} gives {repeated} more than once")
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None}
    except ValueError:
        raise UsageError(f"IDENTIFIER {clip(text)}: arguments must be literals (numbers, strings, None)") from None
    name = node.func.id
    return _suggesting(lambda: _preset(name)(*args, **kwargs), name, kwargs)


def _preset(name: str) -> type[vscale.VarianceScaling]:
    """The initializer class called ``name`` (``vscale.get``'s rules)."""
    template = vscale.get(name)
    assert template is not None  # get() returns None only for None
    return type(template)


#: An initializer's string arguments and their allowed values, for 'did you mean'.
_CHOICES: dict[str, tuple[str, ...]] = {
    "mode": MODES,
    "distribution": (*DISTRIBUTIONS, *DISTRIBUTION_ALIASES),
    "prng": PRNGS,
    "layout": LAYOUTS,
}


def _suggesting(make: Callable[[], Any], name: Any, arguments: dict[str, Any]) -> Any:
    """``make()``; when the library refuses the initializer ``name`` or one of its string
    ``arguments`` with a ``ValueError``, the same message with the closest allowed spelling."""
    try:
        return make()
    except ValueError as error:
        message = one_line(error)
        if isinstance(name, str) and message.startswith("Unknown initializer"):
            raise UsageError(f"IDENTIFIER: unknown initializer {clip(name)}{did_you_mean(name, INITIALIZER_NAMES)} "
                             f"(known: {', '.join(INITIALIZER_NAMES[1::2])}, or in CamelCase)") from None  # fmt: skip
        for key, value in arguments.items():
            hint = did_you_mean(value, _CHOICES[key]) if key in _CHOICES and isinstance(value, str) else ""
            if hint and f"`{key}`" in message:
                raise UsageError(message.rstrip(".") + hint) from None
        raise


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
    host = np.asarray(values)
    # JAX's bfloat16 arrives as ml_dtypes' type, which NumPy's statistics do not take;
    # float32 holds every bfloat16 value exactly.
    return host.astype(np.float32) if host.dtype.name == "bfloat16" else host


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


def run_show(args: argparse.Namespace) -> int:
    count = math.prod(args.shape)
    if count > MAX_SHOW_VALUES:
        raise UsageError(f"argument --shape: at most {MAX_SHOW_VALUES:,} values in all; received {count:,}")
    if args.plot:
        writable("--plot", args.plot)
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
    usage_of = parser  # the usage line that goes with an error: the command's, once known
    try:
        args = parser.parse_args(argv)
        usage_of = args.parser
        return int(args.run(args))
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours; silence the final flush.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except UsageError as error:
        return report(error.parser or usage_of, one_line(error))
    except (ValueError, TypeError, KeyError, OSError, MemoryError, RecursionError) as error:
        # The library's refusals (an identifier, a shape, a dtype, a device, a seed) and bad
        # input of any other kind get the same two lines, never a traceback: a spec or config
        # too deep for the parser (RecursionError), too large (MemoryError), a file that
        # cannot be written (OSError).
        return report(usage_of, one_line(error))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
