"""Read as a reader would, offline, in Chromium on a laptop and on a phone: is the book whole?

Every page of the built book is opened in headless Chromium with every host but this
machine unreachable. The screenshots land in _build/screenshots/<width>/ to be looked at.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import browser

pytestmark = browser.marks()

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = ["accessing", "initialization", "tying", "deferred", "saving"]
FRAMEWORKS = ["pytorch", "mxnet", "mindspore"]
SIZES = {"laptop": browser.DESKTOP, "phone": browser.PHONE}
# Pages with formulas, and how many display formulas each has at least.
MATH = {"book/initialization.html": 1, "book/tying.html": 1}


def book_pages(html: Path) -> list[str]:
    """Every page a reader can reach, the root's redirect and the search page included."""
    return ["index.html", "search.html", "genindex.html"] + [
        f"book/{p.name}" for p in sorted((html / "book").glob("*.html"))
    ]


@pytest.fixture(scope="module")
def site(built_book) -> Iterator[str]:
    with browser.serve(built_book) as base:
        yield base


@pytest.fixture(scope="module", params=list(SIZES))
def chromium(request) -> Iterator:
    with browser.chromium(SIZES[request.param]) as driver:
        driver.size_name = request.param
        yield driver


def open_page(driver, url: str) -> None:
    driver.get(url)
    browser.settle(driver)


def test_no_page_logs_an_error_or_a_warning_to_the_console(built_book, site, chromium):
    chromium.get_log("browser")
    logged = {}
    for name in book_pages(built_book):
        open_page(chromium, site + name)
        messages = [
            f"{e['level']}: {e['message']}"
            for e in chromium.get_log("browser")
            if e["level"] in ("SEVERE", "WARNING")
        ]
        if messages:
            logged[name] = messages
    assert logged == {}


# What MathJax leaves of a formula it typeset: nothing of the TeX source is visible.
RAW_TEX = ["\\[", "\\]", "\\(", "\\)", "\\begin", "\\frac", "$$"]


@pytest.mark.parametrize("name", list(MATH))
def test_formulas_are_typeset_offline(site, chromium, name):
    open_page(chromium, site + name)
    typeset = chromium.execute_script("""
        return {
          display: document.querySelectorAll('mjx-container[display="true"]').length,
          all: document.querySelectorAll('mjx-container').length,
          errors: document.querySelectorAll('mjx-merror').length,
          text: document.querySelector('article').innerText,
          source: [...document.scripts].map(s => s.src).filter(s => s.includes('mathjax')),
        }""")
    assert typeset["display"] >= MATH[name]
    assert typeset["all"] > typeset["display"]  # inline formulas too
    assert typeset["errors"] == 0
    assert [raw for raw in RAW_TEX if raw in typeset["text"]] == []
    assert [src for src in typeset["source"] if not src.startswith(site)] == []


# Every block of a cell's output, and the column it must fit in.
OVERFLOWING = """
const column = document.querySelector('article.bd-article');
const limit = column.getBoundingClientRect().right + 1;
return [...document.querySelectorAll(
    '.cell_output pre, .cell_output img, .cell_output table, .cell_output figure')]
  .filter(e => e.offsetParent !== null)
  .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > limit)
  .map(e => `${e.tagName} ${Math.round(e.getBoundingClientRect().right)} > ${limit}: `
            + (e.innerText || e.getAttribute('alt') || '').split('\\n')[0].slice(0, 80));
"""
SHOWN_OUTPUTS = """
return [...document.querySelectorAll('.cell_output pre, .cell_output img')]
  .filter(e => e.offsetParent !== null).length;
"""


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_output_lies_beyond_the_column_in_any_framework(site, chromium, chapter):
    """Screenshots of each framework's page, and every output block inside the column."""
    folder = SCREENSHOTS / chromium.size_name
    folder.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[chromium.size_name]
    beyond = {}
    for framework in FRAMEWORKS:
        open_page(chromium, f"{site}book/{chapter}.html?framework={framework}")
        assert chromium.execute_script(SHOWN_OUTPUTS) > 0
        page_width = chromium.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert page_width[0] <= page_width[1], f"{framework}: the page scrolls sideways"
        found = chromium.execute_script(OVERFLOWING)
        if found:
            beyond[framework] = found
        full = chromium.execute_script("return document.documentElement.scrollHeight")
        browser.resize(chromium, (width, min(full, 16000)))
        shot = chromium.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        (folder / f"{chapter}-{framework}.png").write_bytes(base64.b64decode(shot["data"]))
        browser.resize(chromium, (width, height))
    assert beyond == {}


def test_figures_take_the_columns_width_on_a_phone(site, chromium):
    """A figure on a phone is no narrower than the column, so its labels stay legible."""
    if chromium.size_name != "phone":
        pytest.skip("a phone's question")
    open_page(chromium, site + "book/initialization.html?framework=mxnet")
    widths = chromium.execute_script("""
        return [...document.querySelectorAll('.cell_output img')]
          .filter(e => e.offsetParent !== null)
          .map(e => {
            const box = e.closest('.cell_output');
            const style = getComputedStyle(box);
            const inner = box.clientWidth - parseFloat(style.paddingLeft)
                          - parseFloat(style.paddingRight);
            return [e.getBoundingClientRect().width, inner, e.naturalWidth];
          });""")
    assert len(widths) == 2
    for shown, column, natural in widths:
        # Drawn wider than a phone, the figure nearly fills the column (its own margin aside):
        # one panel to read, not a third of a row of three.
        assert natural > column and shown >= 0.9 * column, (shown, column, natural)
