"""Assertions shared by the test modules (namespace, device, dtype, shape before values)."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np


def assert_array_like(result: Any, backend: Any, shape: tuple[int, ...], dtype_name: str) -> None:
    """The result is a plain array of ``backend``'s namespace with exactly ``shape``/``dtype``."""
    expected_ns = array_api_compat.array_namespace(_reference_array(backend))
    assert array_api_compat.array_namespace(result) is expected_ns
    if backend.framework == "torch":
        assert type(result) is backend.module.Tensor
        assert not result.requires_grad
        assert result.device.type == (backend.device or "cpu").split(":")[0]
    elif backend.framework == "numpy":
        assert type(result) is backend.module.ndarray
    elif backend.framework == "cupy":
        assert type(result) is backend.module.ndarray
    elif backend.framework == "jax":
        import jax

        assert isinstance(result, jax.Array)
        assert result.devices() == {backend.device}
    assert str(array_api_compat.device(result)) == str(array_api_compat.device(_reference_array(backend)))
    assert result.dtype == backend.native_dtype(dtype_name)
    assert tuple(result.shape) == tuple(shape)


def assert_same_values(actual: Any, desired: Any, backend: Any, dtype_name: str, err_msg: str = "") -> None:
    """Both are plain arrays of ``backend`` (namespace, device, dtype, shape checked first)
    holding the same bits: the one comparison the suite uses for two results of a backend."""
    for result in (actual, desired):
        assert_array_like(result, backend, tuple(desired.shape), dtype_name)
    kind = np.complex128 if dtype_name.startswith("complex") else np.float64
    np.testing.assert_array_equal(backend.to_numpy(actual, kind), backend.to_numpy(desired, kind), err_msg=err_msg)


def _reference_array(backend: Any) -> Any:
    if backend.framework == "torch":
        return backend.module.empty(0, device=backend.device)
    if backend.framework == "array_api_strict":
        return backend.module.empty(0)
    if backend.framework == "jax":
        import jax

        return jax.device_put(backend.module.empty(0), backend.device)
    return backend.module.empty(0)


def jax_has_x64() -> bool:
    """Whether JAX (if imported) runs with 64-bit types (``jax_enable_x64``); True without JAX."""
    import sys

    jax = sys.modules.get("jax")
    return jax is None or bool(jax.config.jax_enable_x64)


def require_x64(what: str) -> None:
    """Skip a test of ``what`` under JAX's default configuration (no 64-bit types)."""
    import pytest

    if not jax_has_x64():
        pytest.skip(f"{what} needs JAX's 64-bit types (jax_enable_x64); CI runs the JAX tests with them too")


def build_flags() -> list[str]:
    """The C flags the package's build gives the compiled kernels (setup.py's UNIX_FLAGS), so
    that kernels compiled by a test are compiled as the shipped ones are."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[1] / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "UNIX_FLAGS" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("setup.py defines no UNIX_FLAGS")
