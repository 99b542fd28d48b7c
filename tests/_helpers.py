"""Assertions shared by the test modules (namespace, device, dtype, shape before values)."""

from __future__ import annotations

from typing import Any

import array_api_compat


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
    assert str(array_api_compat.device(result)) == str(array_api_compat.device(_reference_array(backend)))
    assert result.dtype == backend.native_dtype(dtype_name)
    assert tuple(result.shape) == tuple(shape)


def _reference_array(backend: Any) -> Any:
    if backend.framework == "torch":
        return backend.module.empty(0, device=backend.device)
    if backend.framework == "array_api_strict":
        return backend.module.empty(0)
    return backend.module.empty(0)
