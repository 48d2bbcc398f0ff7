"""Typeset the book's formulas with a copy of MathJax 3 inside the build, never a CDN.

MathJax 3.2.2 comes from PyPI: the package ``sphinx-mathjax-offline`` ships MathJax's
``es5`` folder unchanged (byte for byte the npm package ``mathjax@3.2.2``), so `make book`
needs neither npm nor a network beyond pip. We do not use that package as a Sphinx
extension, which would copy all 24 MB of it: this module points Sphinx's MathJax at
``_static/mathjax/startup.js`` and copies only the components the book loads (the core, TeX
input with its extensions, fetched only by a formula that needs one, CommonHTML output and
its fonts, and the assistive MathML that screen readers read), with MathJax's licence.
A page without a formula loads none of it: Sphinx would load MathJax on the root page,
which lists every chapter, and on the search and index pages.
"""

from __future__ import annotations

import filecmp
import shutil
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

PACKAGE = "sphinx-mathjax-offline"  # the PyPI distribution that carries MathJax
PACKAGE_FOLDER = "sphinx-mathjax-offline/static/mathjax"  # MathJax's es5 folder, inside it
LICENCE = Path(__file__).with_name("mathjax-LICENSE")  # MathJax's, Apache-2.0
TARGET = "mathjax"  # under _static
# The components a page loads, in MathJax's own names; each is <name>.js.
COMPONENTS = ["core", "input/tex", "output/chtml", "a11y/assistive-mml"]
# What else those components fetch: the CommonHTML font data and web fonts, and the TeX
# extensions that \require or the autoloader asks for.
EXTRA = [
    "startup.js",
    "output/chtml/fonts/tex.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
]


def source_dir(app: Sphinx) -> Path:
    """MathJax's es5 folder: page_assets_mathjax if set, else the one pip installed."""
    if app.config.page_assets_mathjax:
        return Path(app.config.page_assets_mathjax)
    try:
        return Path(distribution(PACKAGE).locate_file(PACKAGE_FOLDER))
    except PackageNotFoundError:
        raise ExtensionError(
            f"MathJax is not installed: `make book` installs it from requirements.txt "
            f"({PACKAGE})"
        ) from None


def configure(app: Sphinx, config: Config) -> None:
    """Load MathJax from the build, with only the components the book needs."""
    source = source_dir(app)
    if not (source / "startup.js").is_file():
        raise ExtensionError(f"MathJax's startup.js is not in {source}")
    config.mathjax_path = f"{TARGET}/startup.js"
    settings = dict(config.mathjax3_config or {})
    settings["loader"] = {**settings.get("loader", {}), "load": COMPONENTS}
    config.mathjax3_config = settings


def files(source: Path) -> list[Path]:
    """The files of MathJax to copy, relative to its es5 folder."""
    found = [Path(f"{name}.js") for name in COMPONENTS]
    for name in EXTRA:
        path = source / name
        found += (
            [p.relative_to(source) for p in sorted(path.rglob("*")) if p.is_file()]
            if path.is_dir()
            else [Path(name)]
        )
    return found


def _copy(origin: Path, copied: Path) -> None:
    if copied.is_file() and filecmp.cmp(origin, copied, shallow=False):
        return
    copied.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(origin, copied)


def copy(app: Sphinx, exception: Exception | None) -> None:
    """Put the MathJax files and licence into the build, rewriting only those that changed."""
    if exception is not None or app.builder.format != "html":
        return
    source = source_dir(app)
    target = Path(app.outdir) / "_static" / TARGET
    for relative in files(source):
        _copy(source / relative, target / relative)
    _copy(LICENCE, target / "LICENSE")


def has_math(doctree: nodes.document | None) -> bool:
    return doctree is not None and any(
        True for _ in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block)))
    )


def is_mathjax(script) -> bool:
    """Sphinx's MathJax script, or its inline configuration `window.MathJax = ...`."""
    filename = str(getattr(script, "filename", script) or "")
    body = getattr(script, "attributes", {}).get("body", "")
    return filename.endswith(f"{TARGET}/startup.js") or body.startswith("window.MathJax")


def drop_where_unused(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    if "script_files" in context and not has_math(doctree):
        context["script_files"] = [s for s in context["script_files"] if not is_mathjax(s)]


def setup(app: Sphinx) -> None:
    # MathJax's es5 folder; empty means the one the PyPI package installed.
    app.add_config_value("page_assets_mathjax", "", "html", types=[str])
    # After myst-parser has added its classes to mathjax3_config (priority 500).
    app.connect("config-inited", configure, priority=800)
    app.connect("build-finished", copy)
    # After sphinx.ext.mathjax has added its scripts to the page (priority 500).
    app.connect("html-page-context", drop_where_unused, priority=600)
