"""Backends as test parameters: the one ``backend`` fixture every backend-aware test uses.

``--backends numpy,torch`` restricts the run; naming a backend that is not usable here is
an error, not a silent skip.  Without the option, every backend runs, and the unusable ones
are skipped with the reason (torch missing, no CUDA device, CuPy without a GPU driver).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

# Keras 3 imports TensorFlow unless its backend is chosen first; JAX makes float64
# arrays only with x64 enabled, which the float64 cases need.
os.environ.setdefault("KERAS_BACKEND", "numpy")
os.environ.setdefault("JAX_ENABLE_X64", "1")

ALL_BACKENDS = ("numpy", "torch:cpu", "torch:cuda", "cupy", "jax", "array_api_strict")


@dataclass(frozen=True)
class BackendCase:
    """A backend under test: what to pass as ``xp`` and ``device``, and how to read results."""

    name: str
    module: Any
    device: Any
    dtypes: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def framework(self) -> str:
        return self.name.split(":")[0]

    def to_numpy(self, array: Any, dtype: Any = np.float64) -> np.ndarray:
        """A NumPy copy of a result in ``dtype`` (float64, or complex128 for complex
        results), whatever its library, dtype or device."""
        if self.framework == "torch":
            return array.detach().to("cpu", getattr(self.module, np.dtype(dtype).name)).numpy()
        if self.framework == "cupy":
            return self.module.asnumpy(array).astype(dtype)
        if self.framework == "array_api_strict":
            return np.asarray(self.module.asarray(array, copy=True)._array, dtype=dtype)
        if self.framework == "jax":
            return np.asarray(
                array.astype(self.module.float32) if str(array.dtype) == "bfloat16" else array, dtype=dtype
            )
        return np.asarray(array, dtype=dtype)

    def native_dtype(self, name: str) -> Any:
        if self.framework in ("numpy", "cupy"):
            return np.dtype(name)
        return getattr(self.module, name)

    @property
    def mutable(self) -> bool:
        """Whether the backend's arrays can be filled in place (JAX's cannot)."""
        return self.framework != "jax"


def _probe(name: str) -> BackendCase | str:
    """The case for ``name``, or the reason it cannot run here."""
    framework, _, device = name.partition(":")
    try:
        module = importlib.import_module("jax.numpy" if framework == "jax" else framework)
    except ImportError as error:
        return f"{framework} is not installed ({error})"
    if framework == "numpy":
        return BackendCase(name, module, "cpu", ("float16", "float32", "float64"))
    if framework == "array_api_strict":
        return BackendCase(name, module, None, ("float32", "float64"))
    if framework == "jax":
        import jax

        # JAX's default configuration has no 64-bit types (CI runs the JAX tests both ways).
        wide = ("float64",) if jax.config.jax_enable_x64 else ()
        return BackendCase(name, module, jax.devices("cpu")[0], ("float16", "bfloat16", "float32", *wide))
    if framework == "torch":
        if device == "cuda" and not module.cuda.is_available():
            return "torch reports no usable CUDA device (torch.cuda.is_available() is False)"
        return BackendCase(name, module, device, ("float16", "bfloat16", "float32", "float64"))
    # CuPy imports without a GPU driver; creating an array is what fails there.
    try:
        module.zeros(1)
    except Exception as error:  # CUDARuntimeError and friends
        return f"cupy is installed but has no usable GPU ({type(error).__name__}: {error})"
    return BackendCase(name, module, None, ("float16", "float32", "float64"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=None,
        help=f"comma-separated backends to test, from {', '.join(ALL_BACKENDS)} ('torch' means torch:cpu); "
        "naming one that is not usable is an error. Default: all, unusable ones skipped.",
    )


def _selected(config: pytest.Config) -> tuple[tuple[str, ...], bool]:
    option = config.getoption("--backends")
    if not option:
        return ALL_BACKENDS, False
    names = tuple("torch:cpu" if n.strip() == "torch" else n.strip() for n in option.split(",") if n.strip())
    unknown = [n for n in names if n not in ALL_BACKENDS]
    if unknown:
        raise pytest.UsageError(f"--backends: unknown backend(s) {unknown}; choose from {ALL_BACKENDS}")
    return names, True


def pytest_configure(config: pytest.Config) -> None:
    names, explicit = _selected(config)
    cases = {name: _probe(name) for name in names}
    if explicit:
        missing = {n: c for n, c in cases.items() if isinstance(c, str)}
        if missing:
            raise pytest.UsageError(f"--backends names backends that cannot run here: {missing}")
    config._vscale_backends = cases  # type: ignore[attr-defined]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    cases = metafunc.config._vscale_backends  # type: ignore[attr-defined]
    # @pytest.mark.backends("numpy", "torch:cpu"): a test of what only those backends have
    # (the host kernels) is not generated for the others, rather than skipped on each.
    only = metafunc.definition.get_closest_marker("backends")
    if only is not None:
        unknown = set(only.args) - set(ALL_BACKENDS)
        if unknown:
            raise pytest.UsageError(f"@pytest.mark.backends names unknown backends {sorted(unknown)}")
        cases = {name: case for name, case in cases.items() if name in only.args}
    # Tests that fill arrays in place (the ``fillable`` fixture of tests/test_fill.py) are not
    # generated for JAX, whose arrays are immutable; one test there checks the refusal.
    if "fillable" in metafunc.fixturenames:
        cases = {name: case for name, case in cases.items() if isinstance(case, str) or case.mutable}
    params = []
    for name, case in cases.items():
        marks = [pytest.mark.skip(reason=case)] if isinstance(case, str) else []
        params.append(pytest.param(case, id=name, marks=marks))
    metafunc.parametrize("backend", params)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test's parameter sets on a backend that cannot run here collapse to one skipped
    item: the skip is reported once per test and backend, not once per dtype and shape.
    Combinations of a backend with a dtype it does not have (``only_backend_dtypes``) and
    those a test leaves out by design (``left_out_if``, with its reason) are not generated."""
    kept: set[tuple[str, str]] = set()
    deselected = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("backend") if callspec is not None else None
        if case is None or isinstance(case, BackendCase):  # no backend parameter, or a usable one
            if _lacks_dtype(item, case) or _left_out(item, case):
                deselected.append(item)
            continue
        if not isinstance(case, str):  # an empty parameter set (--backends names none of the test's)
            continue
        key = (item.nodeid.split("[")[0], _backend_id(callspec))
        if key in kept:
            deselected.append(item)
        else:
            kept.add(key)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        chosen = set(map(id, deselected))
        items[:] = [item for item in items if id(item) not in chosen]


#: The real dtypes a backend may lack (complex ones follow their parts, and are not refused).
_REAL_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _lacks_dtype(item: pytest.Item, case: BackendCase | None) -> bool:
    """Whether ``@pytest.mark.only_backend_dtypes("param")`` names a parameter whose value is
    a dtype this backend does not have (a complex one: its parts'): not generated."""
    marker = item.get_closest_marker("only_backend_dtypes")
    if marker is None or case is None:
        return False
    value = item.callspec.params.get(marker.args[0])  # type: ignore[attr-defined]
    value = {"complex64": "float32", "complex128": "float64"}.get(value, value)
    return value in _REAL_DTYPES and value not in case.dtypes


def _left_out(item: pytest.Item, case: BackendCase | None) -> bool:
    """Whether ``@pytest.mark.left_out_if(predicate, reason)`` leaves this combination out:
    ``predicate(case, params)`` (``case`` None for a test without backends) says so."""
    marker = item.get_closest_marker("left_out_if")
    if marker is None or not hasattr(item, "callspec"):
        return False
    return bool(marker.args[0](case, item.callspec.params))  # type: ignore[attr-defined]


def _backend_id(callspec: Any) -> str:
    """The id of the backend parameter of a parametrized item (``torch:cuda``, ``cupy``)."""
    for part in callspec.id.split("-"):
        if part in ALL_BACKENDS:
            return part
    return callspec.id


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Skips summarized by reason, one line each (pytest's -rs lists every test's)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return
    terminalreporter.write_sep("-", "skipped, by reason")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1])[:8]:
        terminalreporter.write_line(f"{count:5d}  {reason[:150]}")
    if len(reasons) > 8:
        rest = sum(sorted(reasons.values(), reverse=True)[8:])
        terminalreporter.write_line(f"{rest:5d}  ({len(reasons) - 8} other reasons; -rs lists each test)")
