"""vscale's benchmark harness: vscale against every installed peer, per backend.

Run ``python -m benchmarks --help`` from the repository root; :func:`benchmarks.run.main`
is the entry point for other front ends (a ``vscale bench`` command).
"""
