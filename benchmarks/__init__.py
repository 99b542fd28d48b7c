"""``python -m benchmarks`` from the repository root runs :mod:`vscale.cli.bench.run`.

The harness lives in the package so that the installed ``vscale bench`` command has it too.
"""
