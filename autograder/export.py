"""``export``: a CSV of grades, one row per student and exercise, the counted framework's score.

nbgrader's own ``nbgrader export`` still lists every assignment (one per framework); this
file answers what an instructor asks of a course taught in three frameworks: what did each
student score on each exercise, in the framework that counts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .course import Course, counted

#: The columns, in order. A cell is blank when there is nothing to say (not handed in).
COLUMNS = [
    "exercise",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "counted_assignment",
    "score",
    "max_score",
    "late_penalty",
    "hand_grading_pending",
    "frameworks_handed_in",
    "submitted_at",
]


@dataclass(frozen=True)
class HandIn:
    """One graded assignment of one student, as the gradebook has it."""

    assignment: str
    score: float  #: after the late penalty, hand-graded points included
    max_score: float
    late_penalty: float
    pending: bool  #: some answer still waits to be graded by hand
    timestamp: str


def export_grades(course_dir: Path | str | None = None, to: Path | str | None = None) -> Path:
    """Write the grades to ``to`` (default: <course>/grades.csv); returns the path."""
    from nbgrader.api import Gradebook

    course = Course.open(course_dir)
    dest = Path(to) if to else course.root / "grades.csv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with Gradebook(course.db_url, course.coursedir().course_id) as gradebook:
        known = {a.name for a in gradebook.assignments}
        for exercise, assignments in sorted(course.exercises().items()):
            graded = [a for a in assignments if a in known]
            for student in sorted(gradebook.students, key=lambda s: s.id):
                hand_ins = [h for a in graded if (h := _hand_in(gradebook, a, student.id))]
                rows.append(_row(exercise, student, hand_ins))
    with dest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return dest


def _hand_in(gradebook, assignment: str, student: str) -> HandIn | None:
    from nbgrader.api import MissingEntry

    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return None
    penalty = submission.late_submission_penalty or 0.0
    return HandIn(
        assignment,
        max(0.0, submission.score - penalty),
        submission.max_score,
        penalty,
        bool(submission.needs_manual_grade),
        "" if submission.timestamp is None else str(submission.timestamp),
    )


def _row(exercise: str, student, hand_ins: list[HandIn]) -> dict[str, str]:
    row = {
        "exercise": exercise,
        "student_id": student.id,
        "last_name": student.last_name or "",
        "first_name": student.first_name or "",
        "email": student.email or "",
    }
    if not hand_ins:
        return {column: row.get(column, "") for column in COLUMNS}
    by_name = {h.assignment: h for h in hand_ins}
    best = by_name[counted({h.assignment: (h.score, h.max_score) for h in hand_ins})]
    row.update(
        counted_assignment=best.assignment,
        score=_number(best.score),
        max_score=_number(best.max_score),
        late_penalty=_number(best.late_penalty),
        hand_grading_pending="yes" if best.pending else "no",
        frameworks_handed_in=";".join(h.assignment.rsplit("_", 1)[-1] for h in hand_ins),
        submitted_at=best.timestamp,
    )
    return row


def _number(value: float) -> str:
    return f"{value:g}"
