"""``release``: the student versions of assignments, made by nbgrader generate_assignment."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from nbformat import NotebookNode

from .course import Course, CourseError, quiet_log
from .notebooks import grade_id, is_answer, read_notebook, with_answers

_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def release_assignments(
    course_dir: Path | str | None = None, names: list[str] | None = None
) -> list[Path]:
    """Write release/<assignment>/*.ipynb without solutions or hidden tests.

    ``names`` are exercises (each released in every framework) or assignments; all of
    the course's by default. Also records each assignment, its notebooks and their
    instructor cells in the gradebook, which is what ``grade`` restores test cells from.
    Returns the released notebooks.
    """
    course = Course.open(course_dir)
    assignments = []
    for name in names or list(course.exercises()):
        assignments += [a for a in course.resolve(name)[1] if a not in assignments]
    released: list[Path] = []
    for name in assignments:
        if not course.notebooks(name):
            raise CourseError(f"assignment {name!r} has no notebooks in {course.source / name}")
        check_test_cells(course, name)
        _generate_assignment(course, name)
        _fingerprint_path(course, name).parent.mkdir(parents=True, exist_ok=True)
        _fingerprint_path(course, name).write_text(_fingerprint(course, name))
        released += sorted((course.release / name).glob("*.ipynb"))
    return released


def _fingerprint(course: Course, assignment: str) -> str:
    """What the release of ``assignment`` was made from: its source notebooks' bytes."""
    digest = hashlib.sha256()
    for name in course.notebooks(assignment):
        digest.update(name.encode() + (course.source / assignment / f"{name}.ipynb").read_bytes())
    return digest.hexdigest()


def _fingerprint_path(course: Course, assignment: str) -> Path:
    # beside the gradebook, not in release/, which is what learners receive
    return course.root / ".autograder" / "released" / f"{assignment}.sha256"


def check_test_cells(course: Course, assignment: str) -> None:
    """Stop with the line at fault unless every test cell is one that ``grade`` can judge."""
    from .judging import read_test_cells

    for notebook in course.notebooks(assignment):
        read_test_cells(read_notebook(course.source / assignment / f"{notebook}.ipynb"), notebook)


def _generate_assignment(course: Course, assignment: str) -> None:
    from nbgrader.apps.api import NbGraderAPI

    api = NbGraderAPI(coursedir=course.coursedir(), config=course.config, log=quiet_log())
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise CourseError(
            f"nbgrader could not release {assignment!r}: "
            f"{_last_line(result.get('error') or result.get('log') or '')}"
        )


def _last_line(text: str) -> str:
    """The most telling line of nbgrader's log: its last exception that is not its own."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [
        line
        for line in lines
        if re.match(r"^[\w.]+(Error|Exception): ", line) and "NbGraderException" not in line
    ]
    return (errors or lines or ["no details"])[-1]


def ensure_released(course: Course, assignment: str, *, again: bool = False) -> None:
    """Release ``assignment`` if it never was; if its source changed since, stop unless ``again``.

    Releasing again makes new checksums and stores the test cells anew in the middle of a
    course, which the instructor must choose to do.
    """
    from nbgrader.api import Gradebook, MissingEntry

    released = {p.stem for p in (course.release / assignment).glob("*.ipynb")}
    with Gradebook(course.db_url, course.coursedir().course_id) as gradebook:
        try:
            known = {nb.name for nb in gradebook.find_assignment(assignment).notebooks}
        except MissingEntry:
            known = set()
    notebooks = set(course.notebooks(assignment))
    if not (released & notebooks and known & notebooks):
        release_assignments(course.root, [assignment])  # never released: nothing to redo
        return
    stamp = _fingerprint_path(course, assignment)
    changed = (
        released != notebooks
        or known != notebooks
        or (stamp.is_file() and stamp.read_text() != _fingerprint(course, assignment))
    )
    if not changed:
        return
    if not again:
        raise CourseError(
            f"the source of {assignment} changed since it was released; "
            "releasing again makes new hidden-test checksums in the middle of "
            f"the course: run `release {assignment}` first, or grade with "
            "--release, if that is what you want"
        )
    release_assignments(course.root, [assignment])


def solution_submission(
    course_dir: Path | str | None, assignment: str, notebook: str
) -> NotebookNode:
    """The released notebook with the reference solutions typed in, as a student hands it in.

    Used by the tests and the benchmark; the assignment must have been released.
    """
    course = Course.open(course_dir)
    source = read_notebook(course.source / assignment / f"{notebook}.ipynb")
    solutions = {
        grade_id(cell): _SOLUTION_MARKERS.sub("", cell.source)
        for cell in source.cells
        if is_answer(cell)
    }
    return with_answers(read_notebook(course.released_path(assignment, notebook)), solutions)
