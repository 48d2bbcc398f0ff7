"""Reading notebooks safely and reading nbgrader's cell markings and verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .course import CourseError

if TYPE_CHECKING:
    from nbformat import NotebookNode

#: A larger file is not read at all: no course notebook comes near it.
MAX_NOTEBOOK_BYTES = 64 << 20


class NotebookError(CourseError):
    """A notebook that cannot be read; the message names the file."""


def read_notebook(path: Path) -> NotebookNode:
    """The notebook at ``path`` in format 4, or a one-line :class:`NotebookError` saying why not.

    An older notebook (format 3, with worksheets) is upgraded, as Jupyter does on opening it.
    """
    name = path.name
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise NotebookError(f"{path} is a folder, not a notebook") from None
    except OSError as error:
        raise NotebookError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{name} is not valid JSON (it is not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise NotebookError(f"{name} is not valid JSON") from None
    older = (
        isinstance(data, dict)
        and data.get("nbformat") == 3
        and isinstance(data.get("worksheets"), list)
    )
    if not older and (not isinstance(data, dict) or not isinstance(data.get("cells"), list)):
        raise NotebookError(f"{name} is JSON but not a notebook (it has no list of cells)")
    # imported here: nbformat takes seconds to import, too long for a one-line error
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
        for cell in nb.cells:
            cell.setdefault("metadata", {})
            cell.source = str(cell.get("source", ""))
    except Exception as error:  # noqa: BLE001 -- nbformat raises many kinds
        raise NotebookError(
            f"{name} is not a notebook nbformat can read: " f"{type(error).__name__}"
        ) from None
    return nb


def nbgrader_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: NotebookNode) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell: NotebookNode) -> bool:
    """A cell the student writes in (nbgrader ``solution``)."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_auto_test(cell: NotebookNode) -> bool:
    """A test cell nbgrader scores by running it (``grade`` code cell, not an answer)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def is_manual(cell: NotebookNode) -> bool:
    """An answer graded by hand (``grade`` and ``solution``, or a task)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade") and meta.get("solution")) or bool(meta.get("task"))


def points(cell: NotebookNode) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def with_answers(nb: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """A copy of ``nb`` whose answer cells named in ``answers`` (by grade_id) hold that code."""
    import nbformat

    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if is_answer(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def failure_message(cell: NotebookNode) -> str:
    """Why an executed test cell lost points, in the words of the check that failed."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            if output.ename == "AssertionError":
                return output.evalue.strip() or "a check failed without saying why"
            return f"{output.ename}: {output.evalue}".strip().rstrip(":")
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            first = next((line for line in output.text.splitlines() if line.strip()), "")
            return f"the cell wrote to stderr, which nbgrader scores as a failure: {first}"
    return "the test gave partial credit"
