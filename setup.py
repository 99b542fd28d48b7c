"""The compiled host kernels: one C extension, built with the package when a compiler is there.

Everything else is in pyproject.toml.  The extension's source is generated from the core's
transforms (tools/generate_kernels.py) and committed.  It is optional, as MarkupSafe's
speedups are: where it cannot be built (no C compiler), the install goes on, vscale runs
its array path with the same values, and says so once at run time.
"""

from __future__ import annotations

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: IEEE semantics kept: no contraction into fused multiply-adds (the core rounds every
#: product), no fast math; errno and traps off so that sqrt is an instruction and the
#: selections vectorize.  None changes a result.  No -march: the binary runs on any CPU of
#: its architecture, and the source picks AVX-512 or AVX2 at load time (target_clones).
UNIX_FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-fno-trapping-math"]
MSVC_FLAGS = ["/O2", "/fp:precise"]


class BuildKernels(build_ext):
    def build_extensions(self) -> None:
        flags = MSVC_FLAGS if self.compiler.compiler_type == "msvc" else UNIX_FLAGS
        for extension in self.extensions:
            extension.extra_compile_args = flags
        super().build_extensions()


setup(
    ext_modules=[Extension("vscale.kernels._speedups", ["vscale/kernels/_speedups.c"], optional=True)],
    cmdclass={"build_ext": BuildKernels},
)
