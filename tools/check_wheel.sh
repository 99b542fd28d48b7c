#!/usr/bin/env bash
# The install as users get it (CI runs this after the test suite):
#  1. `python -m build` makes a wheel; installed into a fresh virtual environment, the
#     kernel tests run against it from a folder without the source tree, and the compiled
#     kernels must be there (test_the_extension_is_built).
#  2. The same build with no C compiler (CC=false) still makes a wheel; installed, it
#     computes the same values on the array path and says once why.
#
#   bash tools/check_wheel.sh        # from the repository root, in an environment with `build`
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python -m build -q --wheel --outdir "$work/dist" . > "$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$work"/dist/vscale-*.whl pytest
mkdir "$work/run"
cp -r tests conftest.py pyproject.toml "$work/run/"
(cd "$work/run" && "$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_host_kernels.py)
echo "wheel: kernel tests passed against the installed wheel"

python -c "import sys, numpy, vscale; numpy.save(sys.argv[1], vscale.HeNormal(seed=0)((64, 64)))" "$work/expected.npy"
# A copy of the sources without build products: setuptools would reuse an up-to-date
# extension from build/ instead of trying (and failing) to compile it.
mkdir "$work/src"
tar -c --exclude=./.venv --exclude=./build --exclude=./dist --exclude='*.so' --exclude=./docs/_build \
    --exclude=./.git . | tar -x -C "$work/src"
CC=false python -m build -q --wheel --outdir "$work/plain" "$work/src" > "$work/plain.log" 2>&1 \
    || { tail -20 "$work/plain.log"; exit 1; }
python3 -m venv "$work/plain-venv"
"$work/plain-venv/bin/python" -m pip install -q "$work"/plain/vscale-*.whl
(cd "$work/run" && "$work/plain-venv/bin/python" - "$work/expected.npy" <<'PY'
import sys, warnings
import numpy as np
import vscale
from vscale.kernels import host as _host_kernels

assert _host_kernels._speedups is None, "a wheel built with CC=false has compiled kernels"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    first = vscale.HeNormal(seed=0)((64, 64))
    vscale.HeNormal(seed=0, prng="threefry")((64, 64))
assert [w.category.__name__ for w in caught] == ["KernelsUnavailableWarning"], caught
assert np.array_equal(first, np.load(sys.argv[1])), "the array path differs from the compiled kernels"
print("plain wheel:", str(caught[0].message)[:100], "...")
print("plain wheel: he_normal mean %.4f, std %.4f" % (first.mean(), first.std()))
PY
)
"$work/plain-venv/bin/vscale" info | sed 's/^/plain wheel: /'
echo "wheel: built without a compiler, installs and runs on the array path"
