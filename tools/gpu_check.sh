#!/usr/bin/env bash
# The prepared GPU check (issue 12): the test suite on the GPU backends, in one process for
# the GPU-specific files and with `pytest -n 8` for the whole suite, then the GPU benchmark
# against torch, CuPy and JAX, printing ratios.  About 5 minutes on one H200.
#
#   bash tools/gpu_check.sh            # from the repository root, on a machine with a GPU
#
# Wheels the GPU machine lacks (it has torch, CuPy, JAX, SciPy, pytest, xdist and no
# registry) are installed from .gpu-wheels/ when that folder exists:
#   pip download --no-deps --only-binary=:all: -d .gpu-wheels array-api-compat array-api-strict \
#       hypothesis attrs sortedcontainers mpmath      (then carry it: run(..., carry=[".gpu-wheels"]))
# (--no-deps: the machine's NumPy, torch and CuPy stay as they are; Dask's tests skip there.)
# Results go to $OUT (default /tmp/vscale-gpu-check): tests.log, bench.md, bench.json.
set -u -o pipefail
OUT=${OUT:-/tmp/vscale-gpu-check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 KERAS_BACKEND=numpy
if [ -d .gpu-wheels ]; then
    python -m pip install -q --no-deps --no-index .gpu-wheels/*.whl \
        2>&1 | tail -2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python -c "import torch, cupy, jax; print('torch', torch.__version__, 'cupy', cupy.__version__, 'jax', jax.__version__, jax.devices())"

echo "== GPU-specific tests, one process =="
timeout 150 python -m pytest -q -p no:cacheprovider --backends torch:cuda,cupy,numpy \
    tests/test_kernels.py tests/test_portable_streams.py tests/test_performance_invariants.py \
    -k "cuda or cupy or kernel" 2>&1 | tee "$OUT/tests-gpu.log" | tail -25

echo "== whole suite, pytest -n 8 =="
timeout 200 python -m pytest -q -n 8 -p no:cacheprovider 2>&1 | tee "$OUT/tests.log" | tail -25

echo "== benchmark: 2**20 and 2**28 float32 values, torch CUDA and CuPy against torch, CuPy and JAX =="
timeout 200 python -m benchmarks --backends torch-cuda,cupy --peers torch,cupy,jax,threefry \
    --sizes 1048576,268435456 --repeats 5 --memory-sizes 268435456 --no-progress --out "$OUT/bench" 2>&1 | tail -60
