"""Show each chapter's examples as framework tabs, each framework run as a notebook of its own.

Chapters keep their code cells at the top level, tagged ``pytorch``, ``mxnet`` or
``mindspore`` (untagged cells are shared): Jupyter Book 1.x cannot execute a code cell
nested in a tab directive. The extension is split by concern:

- ``build``: split each chapter into one notebook per framework, execute each in a kernel
  of its own (cached, in parallel) and merge the outputs back into the page;
- ``tabs``: group each run of framework cells into one synchronized sphinx-design tab set;
- ``downloads``: offer the framework notebooks as they ran, and a zip per framework;
- ``figures``: one number for the copies of a figure that each framework's tab draws;
- ``static/framework-choice.js``: ``?framework=`` in any case, and unknown names ignored.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

from . import build, downloads, figures, tabs
from .cells import FRAMEWORKS, FrameworkTabError

__all__ = ["FRAMEWORKS", "FrameworkTabError", "setup"]

STATIC = Path(__file__).with_name("static")


def add_static(app: Sphinx, config: Config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_design")
    build.setup(app)
    app.add_transform(tabs.GroupFrameworkCells)
    downloads.setup(app)
    figures.setup(app)
    app.connect("config-inited", add_static)
    app.add_js_file(
        "framework-choice.js",
        **{"data-sync-group": tabs.SYNC_GROUP, "data-frameworks": " ".join(FRAMEWORKS)},
    )
    return {
        "version": "2.0",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 2,
    }
