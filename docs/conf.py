"""Sphinx configuration for the vscale documentation (built with -W in .ci/run)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import vscale  # noqa: E402

project = "vscale"
author = "the vscale developers"
copyright = "2026, the vscale developers"  # noqa: A001  (Sphinx's name; without it the footer reads "©. |")
release = vscale.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    # MathJax served from the built site itself, so formulas render without internet.
    "sphinx-mathjax-offline",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
autodoc_typehints = "none"
html_theme = "alabaster"
html_static_path: list[str] = []
