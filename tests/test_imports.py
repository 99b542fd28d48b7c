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


def test_naming_an_unusable_backend_is_an_error_not_a_skip():
    """--backends with a backend that cannot run here stops the run with a usage error."""
    import pytest

    probe = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.cuda.is_available())"], capture_output=True, text=True
    )
    if probe.stdout.strip() != "False":
        pytest.skip("torch is missing or has CUDA here; the check needs an unusable torch:cuda")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--backends",
            "torch:cuda",
            "tests/test_imports.py::test_alias_is_the_same_object",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 4, run.stdout + run.stderr
    assert "cannot run here" in run.stderr + run.stdout


def test_compat_wrappers_are_accepted_as_xp():
    import array_api_compat.numpy as compat_numpy
    import numpy as np

    result = vscale.VarianceScaling(seed=0)((2, 3), xp=compat_numpy)
    assert type(result) is np.ndarray
    assert result.shape == (2, 3)
