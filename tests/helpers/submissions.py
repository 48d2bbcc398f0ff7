"""Hand-ins made odd on purpose, around an otherwise correct notebook."""

from __future__ import annotations

import nbformat

from autograder.notebooks import grade_id


def with_duplicate_answer(
    nb: nbformat.NotebookNode,
    answer: str = "square_answer",
) -> nbformat.NotebookNode:
    """A second ``answer`` cell, wrong, two cells after the first (a copy-pasted cell)."""
    nb = nbformat.from_dict(nb)
    first = next(i for i, c in enumerate(nb.cells) if grade_id(c) == answer)
    copy = nbformat.from_dict(nb.cells[first])
    copy.source = "def square(x):\n    return 0"
    copy["id"] = "copied-cell"
    nb.cells.insert(first + 2, copy)
    return nb
