"""Serve everything a page needs from the build itself, and nothing it does not need.

A reader without a network sees the same book as one with it. The extension is split by
concern:

- ``mathjax``: MathJax 3 from a PyPI package that ships it, copied into the build (the
  parts the book uses), so that formulas are typeset offline;
- ``icons``: Font Awesome as the theme's own web fonts cut down to the icons the pages use,
  instead of the 1.4 MB script that draws every icon it knows;
- ``thebe``: sphinx-thebe switched off (jupyter-book loads it always; the book has no
  Binder to run it on), which also ends its twice-declared ``THEBE_JS_URL``.
"""

from __future__ import annotations

from sphinx.application import Sphinx

from . import icons, mathjax, thebe


def setup(app: Sphinx) -> dict:
    mathjax.setup(app)
    icons.setup(app)
    thebe.setup(app)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
