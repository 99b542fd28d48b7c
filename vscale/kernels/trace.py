"""Fused GPU kernels, written by running the core's own transforms on symbolic values.

The core transforms (:mod:`vscale.core`) are the reference: array-API code whose every
step is a full pass over memory and, on a GPU, a kernel launch.  Here the same functions
run once on :class:`Symbol` values of a recording namespace: every operation they make
becomes one line of C, in the same order, with the same operand types.  The lines make
the body of one elementwise kernel (CuPy's ``ElementwiseKernel``): one read and one write
per value instead of dozens of passes, and for the portable stream not even the read,
since the Threefry bits are computed from the element's index inside the kernel.

Python numbers that the transforms use (coefficients with the deviation folded in, the
key's words, thresholds) become kernel *arguments*, typed as the array operand they meet
(as the array API converts them), so the source depends only on the structure of the
transform and one compiled kernel serves every layer shape and seed.  Shift amounts stay
literals.  Compiled without contraction into fused multiply-adds (``--fmad=false``) and
with IEEE division and square root (NVRTC's defaults), every line is the correctly
rounded operation the core makes, so the portable kernel gives the core's bits; the
native transform calls the device's ``log``, which is within a few ulps of NumPy's.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import portable, threefry
from ..core.regions import box_positions
from ..core.transforms import apply

_C_TYPES = {"float32": "float", "float64": "double", "uint32": "unsigned int", "int64": "long long", "bool": "bool"}
_CUPY_TYPES = {"float32": "float32", "float64": "float64", "uint32": "uint32", "int64": "int64", "bool": "bool"}
#: Conversions to floating types that the preamble spells out (see :data:`PREAMBLE`).
_CONVERSIONS = {"uint32": "vs_of_uint32", "bool": "vs_of_bool"}
#: Definitions every compiled form starts with.  They spell operations so that the C
#: compiler vectorizes them and they keep NumPy's results: ``maximum``/``minimum`` as
#: NumPy selects (the first operand on ties; no NaN reaches them, the transforms' inputs
#: are finite by construction) rather than ``fmax``, a library call; a ``uint32`` through
#: ``int32`` halves in ``double`` (exact: below 2**53), rounded once to the target type,
#: since x86 vector units convert only signed integers; a comparison's 0/1 by selection.
PREAMBLE = """#define vs_max(a, b) ((a) >= (b) ? (a) : (b))
#define vs_min(a, b) ((a) <= (b) ? (a) : (b))
#define vs_of_uint32(T, x) ((T)((double)(int)((x) >> 1) * 2.0 + (double)(int)((x) & 1u)))
#define vs_of_bool(T, x) ((x) ? (T)1 : (T)0)
"""
#: What ``x.shape[0]`` reports while tracing: large, so size-dependent choices take their bulk path.
_TRACED_LENGTH = 1 << 40


@dataclass(frozen=True)
class DType:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass
class Recording:
    """The lines and the arguments of one traced kernel body.

    A host trace (``split=True``) is cut into *segments* wherever the transform calls
    ``log``: the argument is stored into a buffer, the host library's own ``log`` (NumPy's)
    runs over that buffer between two compiled segments, and the next segment reads the
    result back, so that the compiled transform keeps the array path's bits exactly (a C
    library's ``log`` rounds differently from NumPy's SIMD one in the last bit).  A value
    that a later segment uses is spilled: stored into a buffer by the segment that made
    it and loaded by each segment that reads it.  Buffer 0 is the chunk itself (its input
    ``u`` and its output); the first spilled value shares it, the others get scratch buffers.
    """

    lines: list[str] = field(default_factory=list)
    arguments: list[tuple[str, str, Any]] = field(default_factory=list)  # (name, dtype name, value)
    count: int = 0
    split: bool = False
    #: Finished segments' lines (host traces); ``lines`` is the current segment.
    segments: list[list[str]] = field(default_factory=list)
    #: Variable name -> (segment that defines it, dtype).
    defined: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: Variable name -> buffer it is spilled to.
    spills: dict[str, int] = field(default_factory=dict)
    #: Buffers whose values the host's ``log`` replaces after each segment but the last.
    log_buffers: list[int] = field(default_factory=list)
    buffers: int = 1
    #: The dtype of the chunk and of every spilled value (host traces).
    working: str = "float32"
    _loaded: set[str] = field(default_factory=set)

    def variable(self, dtype: str, expression: str) -> Symbol:
        name = f"v{self.count}"
        self.count += 1
        self.lines.append(f"{_C_TYPES[dtype]} {name} = {expression};")
        self.defined[name] = (len(self.segments), dtype)
        return Symbol(self, name, dtype)

    def argument(self, dtype: str, value: Any) -> str:
        name = f"a{len(self.arguments)}"
        self.arguments.append((name, dtype, _converted(value, dtype)))
        return name

    def use(self, symbol: Symbol) -> str:
        """``symbol``'s name in the current segment (loaded from its spill buffer if it was
        made by an earlier one)."""
        name = symbol.name
        made_in, dtype = self.defined.get(name, (len(self.segments), symbol._dtype))
        if made_in == len(self.segments) or name in self._loaded:
            return name
        buffer = self.spills.get(name)
        if buffer is None:
            if dtype != self.working:
                raise TypeError(f"a {dtype} value crosses a host log call; only the working dtype can be spilled")
            buffer = self.spills[name] = 0 if not self.spills else self._new_buffer()
            self.segments[made_in].append(f"b{buffer}[i] = {name};")
        self.lines.append(f"{_C_TYPES[dtype]} {name} = b{buffer}[i];")
        self._loaded.add(name)
        return name

    def _new_buffer(self) -> int:
        self.buffers += 1
        return self.buffers - 1

    def host_log(self, x: Symbol) -> Symbol:
        """End the segment at a ``log`` of ``x``: the host library computes it in a buffer."""
        buffer = self._new_buffer()
        self.lines.append(f"b{buffer}[i] = {self.use(x)};")
        self.log_buffers.append(buffer)
        self.segments.append(self.lines)
        self.lines, self._loaded = [], set()
        return self.variable(x._dtype, f"b{buffer}[i]")

    def source(self) -> str:
        return "\n".join(self.lines)

    def signature(self) -> str:
        """CuPy's in-parameter list for the arguments."""
        return ", ".join(f"{_CUPY_TYPES[dtype]} {name}" for name, dtype, _ in self.arguments)

    def values(self) -> list[Any]:
        return [value for _, _, value in self.arguments]


def _converted(value: Any, dtype: str) -> Any:
    """A Python number as the array API converts it for an operand of ``dtype``."""
    if dtype == "bool":
        return np.bool_(value)
    return np.dtype(dtype).type(value)


class Symbol:
    """One value of the kernel: a C variable of a dtype, standing in for an array."""

    def __init__(self, recording: Recording, name: str, dtype: str) -> None:
        self.recording, self.name, self._dtype = recording, name, dtype

    @property
    def dtype(self) -> DType:
        return DType(self._dtype)

    @property
    def shape(self) -> tuple[int]:
        return (_TRACED_LENGTH,)

    # -- operands ------------------------------------------------------------------------

    @property
    def ref(self) -> str:
        """The C name to read this value by in the current segment."""
        return self.recording.use(self)

    def _operand(self, other: Any) -> str:
        if isinstance(other, Symbol):
            if other._dtype != self._dtype and not (self._dtype == other._dtype == "bool"):
                raise TypeError(f"mixed dtypes {self._dtype} and {other._dtype} in a traced kernel")
            return other.ref
        if isinstance(other, (bool, int, float, np.generic)):
            return self.recording.argument(self._dtype, other)
        raise TypeError(f"cannot trace an operand of type {type(other).__name__}")

    def _binary(self, other: Any, operator: str, reverse: bool = False, result: str | None = None) -> Symbol:
        a, b = self.ref, self._operand(other)
        if reverse:
            a, b = b, a
        return self.recording.variable(result or self._dtype, f"{a} {operator} {b}")

    def _rebind(self, value: Symbol) -> Symbol:
        self.name = value.name
        return self

    def __add__(self, other: Any) -> Symbol:
        return self._binary(other, "+")

    def __radd__(self, other: Any) -> Symbol:
        return self._binary(other, "+", reverse=True)

    def __sub__(self, other: Any) -> Symbol:
        return self._binary(other, "-")

    def __rsub__(self, other: Any) -> Symbol:
        return self._binary(other, "-", reverse=True)

    def __mul__(self, other: Any) -> Symbol:
        return self._binary(other, "*")

    def __rmul__(self, other: Any) -> Symbol:
        return self._binary(other, "*", reverse=True)

    def __truediv__(self, other: Any) -> Symbol:
        return self._binary(other, "/")

    def __rtruediv__(self, other: Any) -> Symbol:
        return self._binary(other, "/", reverse=True)

    def __floordiv__(self, other: Any) -> Symbol:
        if self._dtype.startswith("float"):
            raise TypeError("floor division of floats is not traced")
        return self._binary(other, "/")  # non-negative integers: truncation is floor

    def __mod__(self, other: Any) -> Symbol:
        return self._binary(other, "%")

    def __neg__(self) -> Symbol:
        return self.recording.variable(self._dtype, f"-{self.ref}")

    def __and__(self, other: Any) -> Symbol:
        return self._binary(other, "&&" if self._dtype == "bool" else "&")

    def __or__(self, other: Any) -> Symbol:
        return self._binary(other, "||" if self._dtype == "bool" else "|")

    def __xor__(self, other: Any) -> Symbol:
        return self._binary(other, "^")

    def __invert__(self) -> Symbol:
        return self.recording.variable(self._dtype, f"{'!' if self._dtype == 'bool' else '~'}{self.ref}")

    def __lshift__(self, amount: int) -> Symbol:
        return self.recording.variable(self._dtype, f"{self.ref} << {int(amount)}")

    def __rshift__(self, amount: int) -> Symbol:
        return self.recording.variable(self._dtype, f"{self.ref} >> {int(amount)}")

    def _compare(self, other: Any, operator: str) -> Symbol:
        return self._binary(other, operator, result="bool")

    def __lt__(self, other: Any) -> Symbol:
        return self._compare(other, "<")

    def __le__(self, other: Any) -> Symbol:
        return self._compare(other, "<=")

    def __gt__(self, other: Any) -> Symbol:
        return self._compare(other, ">")

    def __ge__(self, other: Any) -> Symbol:
        return self._compare(other, ">=")

    def __eq__(self, other: Any) -> Symbol:  # type: ignore[override]
        return self._compare(other, "==")

    def __ne__(self, other: Any) -> Symbol:  # type: ignore[override]
        return self._compare(other, "!=")

    __hash__ = None  # type: ignore[assignment]

    # In-place operators: the traced code rebinds the same Python object to the new value.
    def __iadd__(self, other: Any) -> Symbol:
        return self._rebind(self + other)

    def __isub__(self, other: Any) -> Symbol:
        return self._rebind(self - other)

    def __imul__(self, other: Any) -> Symbol:
        return self._rebind(self * other)

    def __itruediv__(self, other: Any) -> Symbol:
        return self._rebind(self / other)

    def __iand__(self, other: Any) -> Symbol:
        return self._rebind(self & other)

    def __ior__(self, other: Any) -> Symbol:
        return self._rebind(self | other)

    def __ixor__(self, other: Any) -> Symbol:
        return self._rebind(self ^ other)

    def __ilshift__(self, amount: int) -> Symbol:
        return self._rebind(self << amount)

    def __irshift__(self, amount: int) -> Symbol:
        return self._rebind(self >> amount)


class TracingNamespace:
    """The subset of the array API the core uses, recording C instead of computing."""

    float32 = DType("float32")
    float64 = DType("float64")
    uint32 = DType("uint32")
    int64 = DType("int64")
    bool = DType("bool")

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    def __array_namespace_info__(self) -> Any:
        return self

    def dtypes(self) -> dict[str, DType]:
        return {name: DType(name) for name in _C_TYPES}

    def finfo(self, dtype: Any) -> Any:
        return np.finfo(str(dtype))

    def iinfo(self, dtype: Any) -> Any:
        return np.iinfo(str(dtype))

    def astype(self, x: Symbol, dtype: Any) -> Symbol:
        target = str(dtype)
        if x._dtype in _CONVERSIONS and target.startswith("float"):
            return self.recording.variable(target, f"{_CONVERSIONS[x._dtype]}({_C_TYPES[target]}, {x.ref})")
        return self.recording.variable(target, f"({_C_TYPES[target]}){x.ref}")

    def _function(self, name: str, x: Symbol, *others: Any) -> Symbol:
        float32 = x._dtype == "float32"
        operands = ", ".join([x.ref, *(x._operand(o) for o in others)])
        if name in ("vs_max", "vs_min"):  # the preamble's macros, typed by their operands
            return self.recording.variable(x._dtype, f"{name}({operands})")
        call = {"sqrt": "sqrt", "log": "log", "abs": "fabs"}[name]
        return self.recording.variable(x._dtype, f"{call}{'f' if float32 else ''}({operands})")

    def sqrt(self, x: Symbol) -> Symbol:
        return self._function("sqrt", x)

    def log(self, x: Symbol) -> Symbol:
        if self.recording.split:
            return self.recording.host_log(x)
        return self._function("log", x)

    def abs(self, x: Symbol) -> Symbol:
        return self._function("abs", x)

    def maximum(self, x: Symbol, y: Any) -> Symbol:
        return self._function("vs_max", x, y)

    def minimum(self, x: Symbol, y: Any) -> Symbol:
        return self._function("vs_min", x, y)

    def clip(self, x: Symbol, low: Any, high: Any) -> Symbol:
        return self.minimum(self.maximum(x, low), high)

    def where(self, condition: Symbol, x: Symbol, y: Any) -> Symbol:
        return self.recording.variable(x._dtype, f"{condition.ref} ? {x.ref} : {x._operand(y)}")

    def zeros_like(self, x: Symbol) -> Symbol:
        return self.full_like(x, 0)

    def ones_like(self, x: Symbol) -> Symbol:
        return self.full_like(x, 1)

    def full_like(self, x: Symbol, value: Any) -> Symbol:
        return self.recording.variable(x._dtype, self.recording.argument(x._dtype, value))


@functools.lru_cache(maxsize=128)
def trace_transform(transform: Any, working: str, apply: Any) -> Recording:
    """A kernel body ``out = apply(u)`` for the input ``u`` of dtype ``working`` (traced once
    per transform; the recording is shared and must not be changed)."""
    recording = Recording()
    u = Symbol(recording, "u", working)
    result = apply(u, transform, xp=TracingNamespace(recording))
    recording.lines.append(f"out = {result.name};")
    return recording


def trace_portable(key: tuple[int, int], transform: Any, working: str, box: Any, dims: tuple[int, ...]) -> Recording:
    """A kernel body computing element ``start + i``'s value of a portable call (``i`` the index).

    ``start`` is the kernel's first argument; ``box`` and ``dims`` map region indices to
    positions of the whole call, as :class:`~vscale.core.regions.Positions` does.
    The key's words are the first two kernel arguments (the key schedule is computed in
    the kernel), so the trace is made once per transform and region and serves every key.
    """
    shared = _trace_portable(transform, working, box, dims)
    words = [
        (name, dtype, _converted(word, dtype)) for (name, dtype, _), word in zip(shared.arguments[:2], key, strict=True)
    ]
    return Recording(shared.lines, [*words, *shared.arguments[2:]], shared.count)


@functools.lru_cache(maxsize=1024)
def _trace_portable(transform: Any, working: str, box: Any, dims: tuple[int, ...]) -> Recording:
    recording = Recording()
    xp = TracingNamespace(recording)
    key = (Symbol(recording, recording.argument("uint32", 0), "uint32"),
           Symbol(recording, recording.argument("uint32", 0), "uint32"))  # fmt: skip
    local = recording.variable("int64", "start + (long long)i")
    positions = local if box is None else box_positions(box, dims, local, xp=xp)
    x0, x1 = threefry.split_positions(positions, xp=xp, word=xp.uint32)
    y0, y1 = threefry.threefry2x32(key, x0, x1, wide=False)  # type: ignore[arg-type]
    u = threefry.words_to_uniforms(y0, y1, xp=xp, dtype=DType(working), grid="jax")
    result = portable.apply(u, transform, xp=xp)
    recording.lines.append(f"out = {result.name};")
    return recording


@functools.lru_cache(maxsize=1024)
def trace_host(transform: Any, working: str) -> Recording:
    """A host kernel body for a native stream's transform: the chunk's uniforms are read
    from buffer 0 and its values written back there, cut into segments at each ``log``
    (see :class:`Recording`).  Traced once per transform; the recording must not change."""
    recording = Recording(split=True, working=working)
    u = recording.variable(working, "b0[i]")
    result = apply(u, transform, xp=TracingNamespace(recording))
    recording.lines.append(f"out = {result.ref};")
    return recording


@dataclass(frozen=True)
class HostSpec:
    """A host kernel as the generated C module compiles it and the loader finds it.

    ``segments`` are the C bodies of the loops over ``i`` (the host's ``log`` runs on
    ``log_buffers[k]`` between segment ``k`` and ``k + 1``); ``arguments`` the dtypes of
    the packed arguments; ``identity`` a digest of all of it, which names the compiled
    kernel: a transform whose trace differs in any character finds no kernel.
    """

    identity: str
    working: str
    indexed: bool
    segments: tuple[str, ...]
    arguments: tuple[str, ...]
    buffers: int
    log_buffers: tuple[int, ...]


def host_spec(recording: Recording, working: str, *, indexed: bool) -> HostSpec:
    """The :class:`HostSpec` of a host trace (:func:`trace_host`) or a portable one (indexed)."""
    c_type = _C_TYPES[working]
    bodies = [*recording.segments, recording.lines]
    segments = [*("\n".join(body) for body in bodies[:-1]), "\n".join([f"{c_type} out;", *bodies[-1], "b0[i] = out;"])]
    arguments = tuple(dtype for _, dtype, _ in recording.arguments)
    identity_text = "|".join([working, str(indexed), *segments, ",".join(arguments), str(recording.log_buffers)])
    identity = hashlib.sha256(identity_text.encode()).hexdigest()[:16]
    return HostSpec(
        identity, working, indexed, tuple(segments), arguments, recording.buffers, tuple(recording.log_buffers)
    )


#: Bytes each packed kernel argument takes (aligned for every type), and its struct format.
ARGUMENT_SIZE = 8
ARGUMENT_FORMATS = {"float32": "f4x", "float64": "d", "uint32": "I4x", "int64": "q", "bool": "?7x"}
C_TYPES = _C_TYPES
ITEMSIZES = {"float32": 4, "float64": 8}


@functools.lru_cache(maxsize=1024)
def host_kernel_spec(stream: str, transform: Any, working: str) -> HostSpec:
    """The host kernel of ``transform`` for ``stream`` ("native" or "threefry")."""
    return host_spec(_host_trace(stream, transform, working), working, indexed=stream == "threefry")


@functools.lru_cache(maxsize=1024)
def host_kernel_constants(stream: str, transform: Any, working: str) -> bytes:
    """The kernel's packed arguments, but for the portable kernels' first two (the key's words)."""
    recording = _host_trace(stream, transform, working)
    skip = 2 if stream == "threefry" else 0
    fields = recording.arguments[skip:]
    return struct.pack("<" + "".join(ARGUMENT_FORMATS[dtype] for _, dtype, _ in fields), *(v for _, _, v in fields))


def _host_trace(stream: str, transform: Any, working: str) -> Recording:
    if stream == "threefry":
        return _trace_portable(transform, working, None, ())
    return trace_host(transform, working)


def c_function(recording: Recording, working: str, output: str, *, indexed: bool) -> str:
    """The body as a C function over ``n`` elements, for testing the traces on the CPU."""
    parameters, element = _kernel_parts(recording, working, output, indexed=indexed)
    return f"""#include <math.h>
#include <stdbool.h>
{PREAMBLE}
void kernel({parameters}) {{
    for (long long i = 0; i < n; i++) {{
        {element}
    }}
}}
"""


def cuda_function(recording: Recording, working: str, output: str, *, indexed: bool) -> str:
    """The body as a plain CUDA kernel (what CuPy compiles, without its indexing wrapper)."""
    parameters, element = _kernel_parts(recording, working, output, indexed=indexed)
    return f"""{PREAMBLE}
extern "C" __global__ void kernel({parameters}) {{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {{
        {element}
    }}
}}
"""


def _kernel_parts(recording: Recording, working: str, output: str, *, indexed: bool) -> tuple[str, str]:
    """The parameter list and the per-element statements shared by the C and CUDA forms."""
    arguments = "".join(f", {_C_TYPES[dtype]} {name}" for name, dtype, _ in recording.arguments)
    source = "" if indexed else f", const {_C_TYPES[working]}* input"
    parameters = f"long long n, long long start{arguments}{source}, {_C_TYPES[output]}* result"
    read = "" if indexed else f"{_C_TYPES[working]} u = input[i];\n        "
    body = "\n        ".join(recording.lines)
    return parameters, f"{read}{_C_TYPES[output]} out;\n        {body}\n        result[i] = out;"


def structure_key(recording: Recording) -> str:
    """What identifies a compiled kernel: the source and the argument types, not their values."""
    return recording.source() + "|" + recording.signature()
