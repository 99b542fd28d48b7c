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
# A wider page than alabaster's 940 px, so that code and tables fit on a desktop window; below
# the page width alabaster switches to its one-column layout. docs/_static/vscale.css makes wide
# tables scroll inside the column, vscale.js lets long literals in tables wrap after "_" and "."
# (tools/check_docs_render.py looks at the result in Chromium).
html_theme_options = {"page_width": "1200px", "sidebar_width": "230px", "body_max_width": "none"}
html_static_path = ["_static"]
html_css_files = ["vscale.css"]
html_js_files = ["vscale.js"]
