"""Read the "label: value" lines a chapter prints, per framework, from its built page."""

from __future__ import annotations

import re
from pathlib import Path

import pmcheck
from helpers.book_html import TabSet, page, tab_sets

FRAMEWORKS = pmcheck.FRAMEWORKS
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def chapter_page(built_book: Path, name: str) -> Path:
    """The HTML file of one chapter of the built book."""
    return built_book / "book" / f"{name}.html"


def tab_sets_with(html: Path, text: str) -> list[TabSet]:
    """The tab sets on a page, in order, whose outputs contain `text` in some framework."""
    return [ts for ts in tab_sets(html) if any(text in out for out in ts.outputs.values())]


def values(output: str, label: str) -> list[str]:
    """What follows `label: ` on every output line that starts with the label, in order."""
    pattern = re.compile(rf"^\s*{re.escape(label)}: (.*)$", re.MULTILINE)
    return [match.strip() for match in pattern.findall(output)]


def value(output: str, label: str) -> str:
    """What follows `label: ` on the one output line that starts with the label."""
    found = values(output, label)
    assert len(found) == 1, f"expected one line starting {label!r}, found {found!r} in:\n{output}"
    return found[0]


def numbers(text: str) -> list[float]:
    """Every number in a piece of printed output, in order."""
    return [float(n) for n in _NUMBER.findall(text)]


def number(output: str, label: str) -> float:
    """The single number printed after `label: `."""
    found = numbers(value(output, label))
    assert len(found) == 1, f"expected one number after {label!r}, found {found!r}"
    return found[0]


def named_numbers(text: str) -> dict[str, float]:
    """Pairs like `min -0.0316, max 0.0316` as {'min': -0.0316, 'max': 0.0316}."""
    return {name: float(num) for name, num in re.findall(rf"([^\s,:|]+) ({_NUMBER.pattern})", text)}


def figures_outside_tabs(html: Path) -> int:
    """How many images the page's untagged (all-framework) cells output."""
    images = page(html).select("div.cell_output img")
    return sum(1 for img in images if img.find_parent("div", class_="sd-tab-set") is None)
