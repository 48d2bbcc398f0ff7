"""``export``: a CSV of grades with nbgrader's columns plus the per-framework score."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .course import Course

#: The columns ``nbgrader export`` writes, in its order.
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name",
                    "first_name", "email", "raw_score", "late_submission_penalty", "score",
                    "max_score"]
#: Ours: the notebook that counts (best of those submitted) and its score out of its max.
FAIR_COLUMNS = ["counted_notebook", "fair_score", "fair_max_score"]


@dataclass(frozen=True)
class NotebookScore:
    name: str
    score: float  #: after the late penalty, manual grades included
    max_score: float


def export_grades(course_dir: Path | str | None = None, to: Path | str | None = None) -> Path:
    """Write one row per (assignment, student) to ``to`` (default: <course>/grades.csv).

    nbgrader's columns hold its totals over all the assignment's notebooks; the
    ``fair_*`` columns count only the best notebook the student submitted, out of that
    notebook's maximum, so a learner of one framework is not marked down for the others.
    """
    from nbgrader.api import Gradebook, MissingEntry

    course = Course.open(course_dir)
    dest = Path(to) if to else course.root / "grades.csv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url, course.coursedir().course_id) as gradebook, \
            dest.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(NBGRADER_COLUMNS + FAIR_COLUMNS)
        for assignment in gradebook.assignments:
            for student in gradebook.students:
                row = {"assignment": assignment.name, "duedate": assignment.duedate,
                       "student_id": student.id, "last_name": student.last_name,
                       "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                notebooks = []
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0,
                               score=0.0)
                else:
                    penalty = submission.late_submission_penalty
                    row.update(timestamp=submission.timestamp, raw_score=submission.score,
                               late_submission_penalty=penalty,
                               score=max(0.0, submission.score - penalty))
                    handed_in = _handed_in(course, student.id, assignment.name)
                    notebooks = [NotebookScore(nb.notebook.name, max(
                        0.0, nb.score - (nb.late_submission_penalty or 0.0)), nb.max_score)
                        for nb in submission.notebooks if nb.notebook.name in handed_in]
                row.update(_fair(notebooks, [nb.max_score for nb in assignment.notebooks]))
                writer.writerow(["" if row[key] is None else str(row[key])
                                 for key in NBGRADER_COLUMNS + FAIR_COLUMNS])
    return dest


def _handed_in(course: Course, student: str, assignment: str) -> set[str]:
    """The notebooks a student handed in (still in submitted/, or graded in autograded/)."""
    names = set()
    for folder in (course.submitted, course.autograded):
        names |= {p.stem for p in (folder / student / assignment).glob("*.ipynb")}
    return names


def _fair(notebooks: list[NotebookScore], maxima: list[float]) -> dict[str, object]:
    if not notebooks:
        return {"counted_notebook": "", "fair_score": 0.0,
                "fair_max_score": max(maxima, default=0.0)}
    best = max(notebooks, key=lambda nb: (nb.score / nb.max_score if nb.max_score else 0.0,
                                          nb.max_score))
    return {"counted_notebook": best.name, "fair_score": best.score,
            "fair_max_score": best.max_score}
