"""Draw the theme's Font Awesome icons with web fonts cut down to the icons the book uses.

pydata-sphinx-theme loads ``fontawesome.js`` on every page (1.4 MB, most of a page's
weight), a script that replaces each ``<i class="fa-solid fa-...">`` by an SVG, although its
own stylesheet already draws the same icons from Font Awesome's web fonts. We leave the
script out (templates/static/webpack-macros.html) and, after the build, rewrite the web
fonts in the build with only the glyphs of the icon classes that the pages and the scripts
they load name. The fonts are cut from the theme's own copies, never from the build's, so
an icon that a later build uses again comes back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pydata_sphinx_theme
from sphinx.application import Sphinx

THEME_STATIC = (
    Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
)
STYLESHEET = "styles/pydata-sphinx-theme.css"
WEBFONTS = "vendor/fontawesome/webfonts"
TEMPLATES = Path(__file__).with_name("templates")
# `.fa-magnifying-glass:before,.fa-search:before{content:"\f002"}`
_RULE = re.compile(r'([^{}]+)\{content:"\\([0-9a-fA-F]+) ?"\}')
_SELECTOR = re.compile(r"\.(fa-[a-z0-9-]+):+before$")
_CLASS = re.compile(r"\bfa-[a-z0-9][a-z0-9-]*")
_SCRIPT = re.compile(r'<script[^>]*\ssrc="([^"?#]+)')


def codepoints(css: str) -> dict[str, int]:
    """Each Font Awesome icon class of a stylesheet, with the codepoint of its glyph."""
    found = {}
    for selectors, code in _RULE.findall(css):
        for selector in selectors.split(","):
            match = _SELECTOR.match(selector.strip())
            if match:
                found[match.group(1)] = int(code, 16)
    return found


def used_classes(html_dir: Path) -> set[str]:
    """The fa-* classes named by the built pages and by the local scripts they load."""
    names: set[str] = set()
    scripts: set[Path] = set()
    for page in html_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        names |= set(_CLASS.findall(text))
        for src in _SCRIPT.findall(text):
            if "://" not in src:
                scripts.add((page.parent / src).resolve())
    for script in scripts:
        if script.is_file():
            names |= set(_CLASS.findall(script.read_text(encoding="utf-8", errors="replace")))
    return names


def subset_fonts(html_dir: Path, theme_static: Path = THEME_STATIC) -> dict[str, int]:
    """Rewrite the build's Font Awesome fonts with only the glyphs in use; their sizes."""
    from fontTools import subset

    table = codepoints((theme_static / STYLESHEET).read_text(encoding="utf-8"))
    wanted = sorted({table[name] for name in used_classes(html_dir) if name in table})
    sizes = {}
    for original in sorted((theme_static / WEBFONTS).iterdir()):
        if original.suffix not in {".woff2", ".ttf"}:
            continue
        target = html_dir / "_static" / WEBFONTS / original.name
        options = subset.Options()
        options.flavor = "woff2" if original.suffix == ".woff2" else None
        options.layout_features = ["*"]
        options.notdef_outline = True
        font = subset.load_font(str(original), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=wanted)
        subsetter.subset(font)
        target.parent.mkdir(parents=True, exist_ok=True)
        subset.save_font(font, str(target), options)
        sizes[original.name] = target.stat().st_size
    return sizes


def after_build(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        subset_fonts(Path(app.outdir))


def add_templates(app: Sphinx, config) -> None:
    # Before the theme's own templates: ours replace only webpack-macros.html.
    config.templates_path = [str(TEMPLATES), *config.templates_path]


def setup(app: Sphinx) -> None:
    app.connect("config-inited", add_templates)
    app.connect("build-finished", after_build)
