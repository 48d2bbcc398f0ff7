"""Serve everything a page needs from the build itself, and nothing it does not need.

A reader without a network sees the same book as one with it. The extension is split by
concern:

- ``mathjax``: MathJax 3 from a PyPI package that ships it, copied into the build (the
  parts the book uses), so that formulas are typeset offline;
- ``icons``: Font Awesome as the theme's own web fonts cut down to the icons the pages use,
  instead of the 1.4 MB script that draws every icon it knows;
- ``reading.css``: outputs that wrap their long lines, as in Jupyter, and figures no wider
  than the column, on a laptop as on a phone;
- ``launch``: a JupyterHub launch entry per framework, opening that framework's notebook;
- ``thebe``: sphinx-thebe switched off (jupyter-book loads it always; the book has no
  Binder to run it on), which also ends its twice-declared ``THEBE_JS_URL``.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

from . import icons, launch, mathjax, thebe

STATIC = Path(__file__).with_name("static")


def add_static(app: Sphinx, config: Config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", add_static)
    app.add_css_file("reading.css")
    mathjax.setup(app)
    icons.setup(app)
    thebe.setup(app)
    launch.setup(app)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
