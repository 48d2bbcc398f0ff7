"""Build a small book of our own MyST pages with the framework-tabs extension, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
HEADER = """\
---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---
"""


def cell(code: str, *tags: str) -> str:
    """One MyST code cell, with its tags."""
    options = f":tags: [{', '.join(tags)}]\n" if tags else ""
    return f"```{{code-cell}} ipython3\n{options}{code}\n```\n\n"


# Fixture pages may leave a framework out of a tab set on purpose: the book may not.
ALLOW_MISSING_TABS = {"suppress_warnings": ["framework_tabs.missing"]}


def build(
    tmp: Path,
    pages: dict[str, str],
    execute: str = "force",
    like_book: bool = False,
    sphinx_config: dict | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Build a small book of our own pages with the extension, strictly.

    The first page is the root, the others follow as chapters; the HTML lands in
    `tmp/out/_build/html`. `like_book` also takes the real book's HTML and Sphinx
    settings, so the pages look and behave in a browser as the book's own do;
    `sphinx_config` adds Sphinx settings of its own. Pages are rewritten only when they
    change, so a second build of the same pages finds its cache.
    """
    config: dict = {
        "title": "Fixture",
        "only_build_toc_files": True,
        # The build goes to out/ inside the book: a second build must not read the first.
        "exclude_patterns": ["out"],
        "execute": {"execute_notebooks": execute},
        "sphinx": {"local_extensions": {"framework_tabs": str(ROOT / "book" / "_ext")}},
    }
    if like_book:
        book = yaml.safe_load((ROOT / "_config.yml").read_text())
        html = dict(book.get("html", {}))
        if html.get("favicon"):
            html["favicon"] = str(ROOT / html["favicon"])
        config["html"] = html
        for key in ("repository", "launch_buttons"):  # the buttons of the html settings
            if key in book:
                config[key] = book[key]
        sphinx = dict(book.get("sphinx", {}).get("config", {}))
        sphinx["html_extra_path"] = [str(ROOT / p) for p in sphinx.get("html_extra_path", [])]
        config["sphinx"]["config"] = sphinx
        # The pages' own assets, as the book serves them: MathJax, icons, no thebe.
        config["sphinx"]["local_extensions"]["page_assets"] = str(ROOT / "book" / "_ext")
    if sphinx_config:
        config["sphinx"].setdefault("config", {}).update(sphinx_config)
    (tmp / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    names = list(pages)
    toc = f"format: jb-book\nroot: {names[0]}\n"
    if names[1:]:
        toc += "chapters:\n" + "".join(f"  - file: {name}\n" for name in names[1:])
    (tmp / "_toc.yml").write_text(toc)
    for name, body in pages.items():
        path = tmp / f"{name}.md"
        if not path.is_file() or path.read_text() != HEADER + body:
            path.write_text(HEADER + body)
    return subprocess.run(
        [
            str(JUPYTER_BOOK),
            "build",
            str(tmp),
            "-W",
            "-n",
            "--keep-going",
            "--path-output",
            str(tmp / "out"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
