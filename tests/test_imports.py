from __future__ import annotations

import subprocess
import sys

import vscale


def test_import_vscale_imports_no_framework():
    code = "import sys, vscale; vscale.VarianceScaling(seed=0)((3, 3)); print(sorted({'torch', 'cupy', 'jax', 'array_api_strict'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_alias_is_the_same_object():
    assert vscale.variance_scaling is vscale.VarianceScaling


def test_public_names():
    for name in ("VarianceScaling", "variance_scaling", "compute_fans", "floatx", "set_floatx"):
        assert name in vscale.__all__
        assert hasattr(vscale, name)
