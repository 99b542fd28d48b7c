"""The benchmark harness: ``python -m benchmarks`` (see :mod:`benchmarks.harness.run`).

Its peers (JAX, Keras, SciPy, tqdm, Matplotlib, psutil) are the optional ``bench`` extra;
importing :mod:`vscale` never imports this package.
"""
