"""Does the built book hold everything a reader needs, with nothing fetched from outside it?"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from fontTools.ttLib import TTFont

from helpers.book_html import page

pytestmark = [pytest.mark.slow, pytest.mark.book]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import install_page  # noqa: E402
from page_assets import icons  # noqa: E402

CHAPTERS = ["accessing", "initialization", "tying", "deferred", "saving"]
# What makes a browser fetch something: (tag, attribute), and <link> by its rel.
FETCHED = [
    ("script", "src"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("input", "src"),
]
LINK_RELS = {
    "stylesheet",
    "icon",
    "shortcut",
    "preload",
    "modulepreload",
    "prefetch",
    "manifest",
    "apple-touch-icon",
}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
_OUTSIDE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def pages(built_book: Path) -> list[Path]:
    """The book's pages (the theme's templates in _static are copied there, not served)."""
    return sorted(
        p for p in built_book.rglob("*.html") if p.relative_to(built_book).parts[0] != "_static"
    )


def fetched_references(html: Path) -> list[tuple[str, str]]:
    """(what, address) of everything a page makes the browser load, inline code included."""
    soup = page(html)
    found = []
    for tag, attribute in FETCHED:
        for element in soup.find_all(tag):
            if element.get(attribute):
                found.append((f"<{tag} {attribute}>", element[attribute]))
    for link in soup.find_all("link", href=True):
        if LINK_RELS & {rel.lower() for rel in link.get("rel", [])}:
            found.append((f"<link rel={' '.join(link['rel'])}>", link["href"]))
    for element in soup.find_all(style=True):
        found += [("style attribute", a or b) for a, b in _CSS_URL.findall(element["style"])]
    for style in soup.find_all("style"):
        found += [("<style>", a or b) for a, b in _CSS_URL.findall(style.get_text())]
    # Inline scripts that name an address outside, as thebe's configuration did.
    for script in soup.find_all("script", src=False):
        found += [
            ("inline <script>", url)
            for url in re.findall(r"""["'`]((?:https?:)?//[^"'`\s]+)""", script.get_text())
        ]
    return found


def stylesheet_references(css: Path) -> list[str]:
    return [a or b for a, b in _CSS_URL.findall(css.read_text(encoding="utf-8"))]


def is_outside(address: str) -> bool:
    return bool(_OUTSIDE.match(address.strip()))


def local_target(origin: Path, address: str) -> Path | None:
    """The file of the build a relative address points at; None for data: and fragments."""
    if address.startswith(("data:", "#", "about:", "blob:")):
        return None
    path = unquote(urlsplit(address).path)
    return (origin.parent / path).resolve() if path else None


def test_no_page_makes_the_browser_fetch_anything_from_outside_the_build(built_book):
    outside = {}
    for html in pages(built_book):
        found = [
            f"{what} {address}" for what, address in fetched_references(html) if is_outside(address)
        ]
        if found:
            outside[str(html.relative_to(built_book))] = found
    assert outside == {}


def test_every_stylesheet_fetches_only_files_of_the_build(built_book):
    outside, missing = [], []
    for css in built_book.rglob("*.css"):
        for address in stylesheet_references(css):
            if is_outside(address):
                outside.append(f"{css.relative_to(built_book)}: {address}")
            elif (target := local_target(css, address)) and not target.is_file():
                missing.append(f"{css.relative_to(built_book)}: {address}")
    assert outside == []
    assert missing == []


def test_everything_a_page_fetches_is_in_the_build(built_book):
    missing = []
    for html in pages(built_book):
        for what, address in fetched_references(html):
            if is_outside(address) or what == "inline <script>":
                continue
            target = local_target(html, address)
            if target is not None and not target.is_file():
                missing.append(f"{html.relative_to(built_book)}: {what} {address}")
    assert missing == []


def test_mathjax_comes_from_the_build_with_its_licence(built_book):
    tying = page(built_book / "book" / "tying.html")
    sources = [
        s["src"].split("?")[0] for s in tying.find_all("script", src=True) if "mathjax" in s["src"]
    ]
    assert sources == ["../_static/mathjax/startup.js"]
    mathjax = built_book / "_static" / "mathjax"
    assert "Apache License" in (mathjax / "LICENSE").read_text()
    for component in [
        "core.js",
        "input/tex.js",
        "output/chtml.js",
        "output/chtml/fonts/tex.js",
        "a11y/assistive-mml.js",
    ]:
        assert (mathjax / component).is_file(), component
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_no_page_loads_the_font_awesome_script_or_thebe(built_book):
    for html in pages(built_book):
        text = html.read_text(encoding="utf-8")
        assert "fontawesome.js" not in text, html
        assert "THEBE_JS_URL" not in text and "sphinx-thebe" not in text, html


def test_the_cut_icon_fonts_hold_every_icon_the_pages_use(built_book):
    """Every fa-* class a page or its scripts name has its glyph in the build's fonts."""
    table = icons.codepoints((icons.THEME_STATIC / icons.STYLESHEET).read_text())
    used = {name for name in icons.used_classes(built_book) if name in table}
    assert {"fa-magnifying-glass", "fa-bars", "fa-github", "fa-rocket"} <= used
    webfonts = built_book / "_static" / icons.WEBFONTS
    held = set()
    for font in webfonts.glob("*.woff2"):
        held |= set(TTFont(font).getBestCmap())
        # Cut down: a few kilobytes, where the theme's own are 100 to 150 kB.
        assert font.stat().st_size < 20_000, font
    assert {name for name in used if table[name] not in held} == set()


def test_every_page_has_a_favicon_and_the_root_answers_for_favicon_ico(built_book):
    for html in pages(built_book):
        if "http-equiv" in html.read_text(encoding="utf-8").lower():
            continue  # the root's redirect
        icons_ = [
            link for link in page(html).find_all("link", href=True) if "icon" in link.get("rel", [])
        ]
        assert icons_, html
        assert local_target(html, icons_[0]["href"]).is_file()
    assert (built_book / "favicon.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


def test_every_image_has_alt_text_and_every_output_figure_a_numbered_caption(built_book):
    for html in pages(built_book):
        soup = page(html)
        for image in soup.find_all("img"):
            alt = image.get("alt", "").strip()
            assert alt, f"{html.name}: {image.get('src')} has no alt text"
            assert not re.search(r"\.(png|svg|jpe?g)$|/", alt), f"{html.name}: alt is {alt!r}"
        for image in soup.select("div.cell_output img"):
            figure = image.find_parent("figure")
            assert figure is not None, f"{html.name}: {image['src']} is not a figure"
            caption = figure.find("figcaption").get_text(" ", strip=True)
            assert re.match(r"Fig\. \d+\.\d+ \S", caption), caption


@pytest.mark.parametrize(("chapter", "figures"), [("initialization", 2), ("tying", 1)])
def test_a_figure_that_each_tab_draws_has_one_number_in_every_tab(built_book, chapter, figures):
    soup = page(built_book / "book" / f"{chapter}.html")
    by_tab: dict[str, list[str]] = {}
    for tab_set in soup.select("div.sd-tab-set.framework-tabs"):
        labels = tab_set.find_all("label", recursive=False)
        contents = tab_set.find_all("div", class_="sd-tab-content", recursive=False)
        for label, content in zip(labels, contents):
            by_tab.setdefault(label["data-sync-id"], []).extend(
                re.match(r"Fig\. (\d+\.\d+)", f.get_text(" ", strip=True)).group(1)
                for f in content.select("figcaption")
            )
    number = CHAPTERS.index(chapter) + 1
    expected = [f"{number}.{n}" for n in range(1, figures + 1)]
    assert by_tab == {"pytorch": expected, "mxnet": expected, "mindspore": expected}


def test_chapters_and_sections_are_numbered(built_book):
    for number, chapter in enumerate(CHAPTERS + ["install"], start=1):
        soup = page(built_book / "book" / f"{chapter}.html")
        headings = [h.get_text(" ", strip=True) for h in soup.select("article h1, article h2")]
        assert headings[0].startswith(f"{number}. "), headings[0]
        assert all(h.startswith(f"{number}.") for h in headings[1:]), headings


def test_each_intro_bullet_links_its_chapter(built_book):
    intro = page(built_book / "book" / "intro.html")
    learn = intro.find(id="what-you-will-learn") or intro.find(id="intro-learn")
    bullets = learn.find("ul").find_all("li", recursive=False)
    linked = [[a["href"].split("#")[0] for a in li.find_all("a", href=True)] for li in bullets]
    assert linked == [[f"{chapter}.html"] for chapter in CHAPTERS]


def test_helper_cells_are_hidden(built_book):
    """No page shows the exception-mode switch; the plot helper's code is folded away."""
    for html in pages(built_book):
        cells = "".join(cell.get_text() for cell in page(html).select("div.cell"))
        assert "%xmode" not in cells and "Exception reporting mode" not in cells, html
    init = page(built_book / "book" / "initialization.html")
    helper = [cell for cell in init.select("div.cell") if "def plot_histogram" in cell.get_text()]
    assert len(helper) == 1 and "tag_hide-input" in helper[0]["class"]


def test_the_repository_is_linked_and_cloned_from_its_configured_url(built_book):
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for name in ["intro", "install"]:
        soup = page(built_book / "book" / f"{name}.html")
        assert soup.find("a", href=url), f"{name}: no repository button"
        blocks = [pre.get_text() for pre in soup.select("div.highlight pre")]
        assert any(
            f"git clone {url}\n" in block and "make book" in block and "make test" in block
            for block in blocks
        ), name
        assert "<this repository>" not in soup.get_text()


def test_the_install_page_states_the_pinned_versions(built_book):
    soup = page(built_book / "book" / "install.html")
    table = soup.find("table")
    rows = [
        tuple(td.get_text(strip=True) for td in tr.find_all("td"))
        for tr in table.find("tbody").find_all("tr")
    ]
    assert rows == install_page.pins()
    assert {"torch", "mxnet", "mindspore", "numpy"} <= {name for name, _ in rows}
    assert "np.bool = bool" in soup.get_text()


def test_the_learner_wheel_is_in_the_book_linked_and_installable_per_framework(built_book):
    install = built_book / "book" / "install.html"
    soup = page(install)
    link = soup.find("a", class_="learner-wheel")
    wheel = (install.parent / link["href"]).resolve()
    assert wheel.name == install_page.wheel_name()
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert "pmcheck/__init__.py" in names
    assert not any(n.startswith(("autograder/", "exercises/")) for n in names)
    assert b"pmcheck = pmcheck.cli:main" in entry_points
    commands = soup.get_text()
    for extra in ["pytorch", "mxnet", "mindspore"]:
        assert f'pip install "{wheel.name}[{extra}]"' in commands


def test_the_jupyterhub_button_opens_each_frameworks_notebook_of_the_chapter(built_book):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    hub = config["launch_buttons"]["jupyterhub_url"]
    soup = page(built_book / "book" / "tying.html")
    links = [a["href"] for a in soup.find_all("a", href=True) if a["href"].startswith(hub)]
    assert [re.search(r"book_tying_(\w+)\.ipynb", unquote(link)).group(1) for link in links] == [
        "pytorch",
        "mxnet",
        "mindspore",
    ]
    for link in links:
        assert "git-pull?repo=" in link and "branch=gh-pages" in link
        path = re.search(r"urlpath=lab/tree/[^/]+/([^&]+)", unquote(link)).group(1)
        assert (built_book / path).is_file(), path
    # No Binder, no Colab: they cannot hold the three frameworks.
    assert not soup.find("a", href=re.compile("mybinder|colab"))
    # A page without notebooks has nothing to launch.
    assert not page(built_book / "book" / "install.html").find("a", href=re.compile(re.escape(hub)))


def test_only_pages_with_formulas_load_mathjax(built_book):
    for html in pages(built_book):
        soup = page(html)
        formulas = soup.select("span.math, div.math")
        scripts = [s for s in soup.find_all("script") if "mathjax" in s.get("src", "")]
        assert len(scripts) == (1 if formulas else 0), html
    assert page(built_book / "book" / "tying.html").select("div.math")
