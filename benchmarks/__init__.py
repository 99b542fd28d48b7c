"""vscale's benchmarks, run from the repository root (not installed with the package).

* ``python -m benchmarks``: the harness (:mod:`benchmarks.harness.run`): vscale against every
  installed peer, sizes 1e4..1e8, memory, targets; ``--sweep`` for the size sweep.
* ``python -m benchmarks.kernels``: the compiled kernels' targets, paired.
* ``python -m benchmarks.model_init``: whole-model initialization against HF's and timm's rules.

The installed ``vscale bench`` is a quick check on the user's machine
(:mod:`vscale.cli.bench`), built on the same timing code as ``benchmarks.kernels``.
"""
