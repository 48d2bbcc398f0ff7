"""Measure what a reader's browser loads for each page of the built book, in kilobytes.

    .venv/bin/python benchmarks/page_weight.py [--html _build/html] [--top 5]

Each page is opened in a fresh headless Chromium (nothing cached) over a local HTTP
server; the sizes are the decoded bytes of the page and of every resource it loaded
(scripts, stylesheets, fonts, images), after MathJax has typeset and the fonts arrived.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402

PAGES = [
    "book/intro.html",
    "book/accessing.html",
    "book/initialization.html",
    "book/tying.html",
    "book/deferred.html",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--top", type=int, default=5, help="largest resources to list per page")
    args = parser.parse_args()
    pages = [page for page in PAGES if (args.html / page).is_file()]
    pages += sorted(
        str(p.relative_to(args.html))
        for p in (args.html / "book").glob("*.html")
        if str(p.relative_to(args.html)) not in pages
    )
    with browser.serve(args.html) as base:
        for page in pages:
            with browser.chromium() as driver:
                driver.get(base + page)
                browser.settle(driver)
                sizes = browser.page_bytes(driver)
            total = sum(sizes.values())
            print(f"{page}: {total / 1024:.0f} kB in {len(sizes)} files")
            for url, size in sorted(sizes.items(), key=lambda item: -item[1])[: args.top]:
                print(f"  {size / 1024:8.1f} kB  {url.removeprefix(base)}")


if __name__ == "__main__":
    main()
