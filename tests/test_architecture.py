"""The layout promised by docs/architecture.md and the contracts in pyproject.toml.

Each test here fails on the change it guards against: a module left off the architecture
page, a page naming a module that is gone, an upward import, an import cycle, a
function-level import that is not an optional framework's.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers import require_x64

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vscale"
PAGE = (ROOT / "docs" / "architecture.md").read_text()
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
#: Libraries a function may import lazily: the optional frameworks (and array-api-compat's
#: wrappers of them, which import them).
OPTIONAL = {"torch", "cupy", "jax", "dask", "scipy", "matplotlib", "array_api_compat"}


def _sources() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.c")])


def test_every_module_is_on_the_architecture_page():
    named = set(re.findall(r"`(vscale/[\w/]+\.(?:py|c))`", PAGE))
    present = {str(path.relative_to(ROOT)) for path in _sources()}
    assert present - named == set(), "modules missing from docs/architecture.md"
    assert named - present == set(), "docs/architecture.md names modules that do not exist"


def test_the_page_lists_the_contract_layers_in_order():
    layers = next(c for c in CONTRACTS if c["type"] == "layers")["layers"]
    table = re.findall(r"^\| (\w+) \| `vscale/", PAGE, flags=re.M)
    assert len(table) == len(layers)
    for row, layer in zip(table, layers, strict=True):
        folders = re.search(rf"^\| {row} \| (.*?) \|", PAGE, flags=re.M).group(1)
        for part in layer.split("|"):
            name = part.strip()
            assert f"vscale/{name}" in folders, (row, name)


def test_the_import_contracts_are_kept():
    importlinter = pytest.importorskip("importlinter.cli", reason="import-linter is a test dependency")
    assert importlinter.lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


def test_no_module_imports_another_that_imports_it_back():
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter")
    graph = grimp.build_graph("vscale")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            path = graph.find_shortest_chain(importer=imported, imported=module)
            if path is not None:
                cycles.append((module, *path))
    assert cycles == []


def _function_imports(path: Path) -> list[tuple[int, str, str]]:
    """``(line, top-level module, source line)`` of each import inside a function."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            elif isinstance(inner, ast.ImportFrom):
                names = ["" if inner.level else inner.module or ""]  # "": a relative import
            else:
                continue
            for name in names:
                found.append((inner.lineno, name.split(".")[0], lines[inner.lineno - 1]))
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_function_level_imports_are_optional_frameworks_with_a_comment(path):
    for line, module, text in _function_imports(path):
        assert module in OPTIONAL, f"{path.name}:{line} imports {module!r} inside a function"
        assert "#" in text, f"{path.name}:{line}: a lazy import says why, in a comment"


def test_the_function_import_check_sees_what_it_rejects(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import vscale\n    from .x import y\n    import torch\n")
    found = _function_imports(bad)
    assert [(m, "#" in t) for _, m, t in found] == [("vscale", False), ("", False), ("torch", False)]


def test_importing_vscale_imports_no_framework_and_no_dask():
    code = (
        "import sys, vscale, vscale.torch, vscale.dask, vscale.jax; "
        "print(sorted({'torch','cupy','jax','dask'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


#: The layers from the top, as the contract lists them (a "|" joins independent siblings).
LAYERS = [
    [f"vscale.{part.strip()}" for part in layer.split("|")]
    for layer in next(c for c in CONTRACTS if c["type"] == "layers")["layers"]
]


def _layer_of(module: str) -> int | None:
    for depth, names in enumerate(LAYERS):
        if any(module == name or module.startswith(name + ".") for name in names):
            return depth
    return None  # vscale itself (the re-exports), or not vscale's


def _climbs(run) -> list[tuple[str, str]]:
    """Calls, while ``run()`` runs, from a module of one layer into a higher layer's."""
    climbs = []

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        below, above = _layer_of(caller), _layer_of(callee)
        if below is not None and above is not None and above < below:
            climbs.append((caller, f"{callee}.{frame.f_code.co_name}"))

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return climbs


@pytest.mark.parametrize("prng", ["native", "threefry"])
@pytest.mark.parametrize(
    "call",
    ["new", "region", "fill", "fill_strided", "fill_float16"],
)
def test_one_call_goes_down_the_layers_once(backend, prng, call):
    """From ``__call__``, ``sample`` or ``fill_`` to the written array, no layer calls back up."""
    import vscale

    init = vscale.HeNormal(seed=3, prng=prng)
    xp, device = backend.module, backend.device
    if call == "region" and not (prng == "threefry" or backend.name in ("numpy", "torch:cpu", "array_api_strict")):
        pytest.skip("native streams of this backend draw whole blocks: regions need prng='threefry'")
    if call == "region" and backend.name == "jax":
        require_x64("a region's 64-bit positions")
    if call.startswith("fill") and backend.name == "jax":
        pytest.skip("jax arrays are immutable: fill_ refuses them (checked)")

    def empty(shape, dtype):
        if backend.framework == "cupy":
            with xp.cuda.Device(device):
                return xp.empty(shape, dtype=backend.native_dtype(dtype))
        return xp.empty(shape, dtype=backend.native_dtype(dtype), device=device)

    runs = {
        "new": lambda: init((300, 70), xp=xp, device=device),
        "region": lambda: init.sample((300, 70), xp=xp, device=device, region=(slice(5, 200, 3), slice(2, 9))),
        "fill": lambda: init.fill_(empty((300, 70), "float32")),
        "fill_strided": lambda: init.fill_(empty((300, 140), "float32")[:, ::2]),
        "fill_float16": lambda: init.fill_(empty((300, 70), "float16")),
    }
    if call == "fill_float16" and "float16" not in backend.dtypes:
        pytest.skip(f"{backend.name} has no float16")
    runs[call]()  # first: plans, imports, kernels' first-use checks
    assert _climbs(runs[call]) == []


def test_the_climb_check_sees_a_call_back_up(monkeypatch):
    """A lower layer that asks the public layer a question during a call is caught."""
    import vscale
    from vscale.engine import loop

    monkeypatch.setattr(loop, "_fill_range", loop._fill_range)  # restored afterwards
    monkeypatch.setitem(loop.__dict__, "_real", loop._fill_range)
    monkeypatch.setitem(loop.__dict__, "_floatx", vscale.floatx)
    # A function of the engine's own module (its globals) that calls the api layer.
    exec("def _fill_range(*args):\n    _floatx()\n    return _real(*args)\n", loop.__dict__)
    climbs = _climbs(lambda: vscale.HeNormal(seed=0)((8, 8)))
    assert ("vscale.engine.loop", "vscale.api.config.floatx") in climbs
