"""How far vscale's values are from JAX's and from the exact ones, and the peers' measured flaws.

    python -m benchmarks.accuracy               # about a minute
    python -m benchmarks.accuracy --only jax    # or: peers

``jax``: ``vscale.jax.variance_scaling(2.0, "fan_avg", ...)`` against
``jax.nn.initializers.variance_scaling`` with the same key, and against
``VarianceScaling(..., prng="threefry").sample(shape, dtype, xp="jax", generator=key)``, on
three keys (two typed, one raw) of 2²⁰ values each: the largest distance in ulp, the share
within 4 ulp, the share identical.  Then JAX's own error: its normals against the exact
inverse CDF of its own uniforms (SciPy's float64 ``erfinv``, exact at float32's resolution;
in float64 good to a few ulp, far below the thousands measured).

``peers``: values of ``torch.nn.init.trunc_normal_`` beyond its bounds after rounding to
float16/bfloat16, its bfloat16 mass on the bounds against the exact distribution's, JAX's
bfloat16 truncated normal's distinct values, and where NumPy's and torch's float32 ``log``
disagree.  Accuracy, not speed: no figure here depends on the machine's load.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

KINDS = {"truncated_normal": "truncated_normal", "normal": "untruncated_normal", "uniform": "uniform"}
SHAPE = (1024, 1024)


def ulps(actual: np.ndarray, desired: np.ndarray) -> np.ndarray:
    desired = np.asarray(desired)
    spacing = np.spacing(np.abs(desired)).astype(np.float64)
    return np.abs(np.asarray(actual, np.float64) - desired.astype(np.float64)) / spacing


def _host(array: object) -> np.ndarray:
    array = np.asarray(array)
    return array.astype(np.float32) if array.dtype.itemsize == 2 else array


def against_jax() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from scipy import special

    import vscale
    import vscale.jax as vj

    keys = [jax.random.key(0), jax.random.key(1), jax.random.PRNGKey(2)]
    print(f"vscale.jax against JAX, 3 keys x {math.prod(SHAPE)} values, fan_avg, scale 2.0")
    print("ulp: of the dtype (float16/bfloat16: its own); to sample: how many values of a million differ")
    print(f"{'dtype':<9} {'distribution':<17} {'to JAX: max ulp':>15} {'<= 4 ulp':>9} {'identical':>10}"
          f" {'to sample: max ulp':>19} {'differ':>12}")  # fmt: skip
    for dtype in ("float32", "float64", "float16", "bfloat16"):
        for name, kind in KINDS.items():
            theirs = jax.nn.initializers.variance_scaling(2.0, "fan_avg", name)
            ours = vj.variance_scaling(2.0, "fan_avg", name)
            sample = vscale.VarianceScaling(2.0, "fan_avg", kind, prng="threefry")
            to_jax, to_sample = [], []
            for key in keys:
                # float16 compared in float16 ulps; bfloat16 (widened to float32): only the shares mean much
                mine = _host(ours(key, SHAPE, getattr(jnp, dtype))).ravel()
                mine = mine.astype(np.float16) if dtype == "float16" else mine
                to_jax.append(ulps(mine, _host(theirs(key, SHAPE, getattr(jnp, dtype))).ravel().astype(mine.dtype)))
                reference = _host(sample.sample(SHAPE, dtype, xp="jax", generator=key)).ravel()
                to_sample.append(ulps(mine, reference.astype(mine.dtype)))
            widened = 2.0**16 if dtype == "bfloat16" else 1.0  # float32 ulps per bfloat16 ulp
            a, b = np.concatenate(to_jax) / widened, np.concatenate(to_sample) / widened
            # float16/bfloat16 values are JAX's other values on purpose: only the identical share means much
            top = f"{a.max():.0f}" if dtype in ("float32", "float64") else "-"
            print(f"{dtype:<9} {name:<17} {top:>15} {100 * np.mean(a <= 4):>8.3f}% {100 * np.mean(a == 0):>9.2f}%"
                  f" {b.max():>19.0f} {1e6 * np.mean(b != 0):>9.1f}/1e6")  # fmt: skip
    print("JAX's own error: its normals against the exact inverse CDF of its uniforms (max ulp)")
    for dtype in ("float32", "float64"):
        real = np.dtype(dtype).type
        stddev = math.sqrt(2.0 / 1024)
        errors = {}
        for name in ("truncated_normal", "normal"):
            worst = 0.0
            for key in keys:
                theirs = np.asarray(
                    jax.nn.initializers.variance_scaling(2.0, "fan_avg", name)(key, SHAPE, getattr(jnp, dtype))
                ).ravel()
                if name == "normal":
                    low, high, factor = np.nextafter(real(-1), real(0)), real(1), stddev
                else:
                    low, high = real(math.erf(-math.sqrt(2.0))), real(math.erf(math.sqrt(2.0)))
                    factor = stddev / 0.87962566103423978
                u = np.asarray(jax.random.uniform(key, (theirs.size,), getattr(jnp, dtype), low, high), np.float64)
                exact = (special.erfinv(u) * math.sqrt(2.0) * factor).astype(dtype)
                worst = max(worst, float(ulps(theirs, exact).max()))
            errors[name] = worst
        print(f"  {dtype}: " + "; ".join(f"{name} {value:.0f}" for name, value in errors.items()))
    print("complex64 truncated normal, fan_in, 3 seeds x 2000² draws: E|w|² / the requested variance")
    for name, make in (
        ("vscale", lambda seed: vscale.VarianceScaling(1.0, "fan_in", seed=seed)((2000, 2000), "complex64")),
        ("JAX", lambda seed: jax.nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal", dtype=jnp.complex64)(
            jax.random.key(seed), (2000, 2000))),
    ):  # fmt: skip
        squares = [np.abs(np.asarray(make(seed), np.complex128)).ravel() ** 2 * 2000 for seed in range(3)]
        ratios = [float(np.mean(q)) for q in squares]
        error = float(np.std(squares[0]) / math.sqrt(squares[0].size))
        print(f"  {name}: {min(ratios):.4f} to {max(ratios):.4f} (standard error {error:.5f})")
    print("jax.jit of a call with xp=jax.numpy against the eager NumPy call (XLA's FMAs): max ulp, share differing")
    for dtype in ("float32", "float64"):
        cells = []
        for kind in ("truncated_normal", "untruncated_normal"):
            make = lambda kind=kind: vscale.VarianceScaling(2.0, "fan_avg", kind, seed=7, prng="threefry")  # noqa: E731
            jitted = np.asarray(jax.jit(lambda make=make, dtype=dtype: make()(SHAPE, dtype, xp=jnp))()).ravel()
            distance = ulps(jitted, make()(SHAPE, dtype).ravel())
            cells.append(f"{kind} {distance.max():.0f} ulp, {100 * np.mean(distance != 0):.1f}%")
        print(f"  {dtype}: " + "; ".join(cells))


def peers() -> None:
    import jax
    import jax.numpy as jnp
    import torch
    from scipy import stats

    torch.manual_seed(0)
    print(f"torch {torch.__version__}: trunc_normal_(std, a=-2 std, b=2 std), 10**7 values, max |x| / std")
    for dtype, std in ((torch.float16, 1e-3), (torch.bfloat16, 0.02)):
        x = torch.nn.init.trunc_normal_(torch.empty(10**7, dtype=dtype), std=std, a=-2 * std, b=2 * std)
        print(f"  {str(dtype)[6:]}, std {std}: {float(x.float().abs().max()) / std:.4f}")
    x = torch.nn.init.trunc_normal_(torch.empty(10**7, dtype=torch.bfloat16)).float()
    # The bfloat16 cell of 2.0 holds what rounds to it from below: (2 - 2**-8, 2], either sign.
    exact = 2 * (stats.norm.cdf(2) - stats.norm.cdf(2 - 2**-8)) / (2 * stats.norm.cdf(2) - 1) * 10**7
    print(f"  bfloat16, std 1: {int((x.abs() == 2).sum())} of 10**7 at exactly ±2; the exact distribution: {exact:.0f}")
    values = jax.nn.initializers.truncated_normal(1.0)(jax.random.key(0), (10**6,), jnp.bfloat16)
    print(
        f"jax {jax.__version__}: truncated_normal in bfloat16, 10**6 values: {np.unique(_host(values)).size} distinct"
    )
    grid = np.random.default_rng(0).random(10**7, dtype=np.float32) + np.float32(2**-24)
    disagree = np.mean(np.log(grid) != torch.log(torch.from_numpy(grid)).numpy())
    print(f"float32 log on 10**7 uniforms in (0, 1]: NumPy and torch disagree on {100 * disagree:.1f}%")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("jax", "peers"), help="one part only")
    args = parser.parse_args(argv)
    if args.only in (None, "jax"):
        against_jax()
    if args.only in (None, "peers"):
        peers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
