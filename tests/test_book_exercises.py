"""Does every chapter link its graded exercises, as student notebooks free of solutions?"""

from __future__ import annotations

import nbformat
import pytest

from helpers.book_html import page
from helpers.chapter_facts import FRAMEWORKS

pytestmark = [pytest.mark.slow, pytest.mark.book]
CHAPTER_ASSIGNMENTS = {
    "accessing": "access",
    "initialization": "initialization",
    "tying": "tying",
    "deferred": "deferred",
    "saving": "portability",
}


@pytest.mark.parametrize("chapter, assignment", CHAPTER_ASSIGNMENTS.items())
def test_chapter_offers_its_student_notebooks(built_book, chapter, assignment):
    html = built_book / "book" / f"{chapter}.html"
    links = page(html).select("p.exercise-notebooks a")
    assert [a.get_text() for a in links] == ["PyTorch", "MXNet", "MindSpore"]
    for link, framework in zip(links, FRAMEWORKS):
        path = html.parent / link["href"]
        assert path.name == f"{assignment}_{framework}.ipynb"
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        notebook = nbformat.read(path, as_version=4)
        graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded, f"{path.name} has no graded cells"
        assert any("NotImplementedError" in c.source for c in notebook.cells)
