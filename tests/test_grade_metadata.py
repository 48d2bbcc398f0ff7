"""Does bad metadata or a linked file become a problem line, never a lost or stolen grade?

One batch of the fixture course: each student below hands in something odd around an
otherwise correct notebook.
"""

from __future__ import annotations

import csv
import os

import nbformat
import pytest

from autograder.export import export_grades
from autograder.kernel import Limits
from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy
from helpers.submissions import with_duplicate_answer

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

PT = "squares_pytorch"
LIMITS = Limits(cell_timeout=30, notebook_timeout=120)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course = CourseCopy(FIXTURE_COURSE, tmp_path_factory.mktemp("metadata") / "course")
    solution = course.solution_submission("squares", PT)
    for student in ("alice", "garbage-time", "future-time", "duplicate"):
        course.submit(
            student,
            "squares",
            PT,
            with_duplicate_answer(solution) if student == "duplicate" else solution,
        )
    folder = course.root / "submitted"
    (folder / "garbage-time" / PT / "timestamp.txt").write_text("next tuesday-ish")
    (folder / "future-time" / PT / "timestamp.txt").write_text("2999-01-01 10:00:00 UTC")
    (folder / "alice" / PT / "timestamp.txt").write_text("2026-11-30 10:00:00 UTC")

    old = folder / "old-format" / PT / f"{PT}.ipynb"
    old.parent.mkdir(parents=True)
    nbformat.write(nbformat.convert(solution, 3), old, version=3)

    source = course.root / "source" / PT / f"{PT}.ipynb"  # the instructor's solutions
    for student, link in (("symlink", os.symlink), ("hardlink", os.link)):
        target = folder / student / PT / f"{PT}.ipynb"
        target.parent.mkdir(parents=True)
        link(source, target)
    (folder / "linked-folder").mkdir()
    os.symlink(course.root / "source" / PT, folder / "linked-folder" / PT)
    results = {r.student: r for r in course.grade("squares", limits=LIMITS)}
    return course, results


def test_reference_in_the_batch_gets_full_marks(batch):
    _, results = batch
    assert (results["alice"].score, results["alice"].problems) == (3, [])


@pytest.mark.parametrize(
    "student, words",
    [
        ("garbage-time", "'next tuesday-ish' is not a date"),
        ("future-time", "is in the future"),
    ],
)
def test_a_bad_timestamp_is_a_problem_and_the_grade_is_recorded(batch, student, words):
    course, results = batch
    assert results[student].score == 3
    assert any(words in p for p in results[student].problems), results[student].problems
    rows = {row["student_id"]: row for row in csv.DictReader(export_grades(course.root).open())}
    assert rows[student]["score"] == "3"
    assert rows[student]["submitted_at"] == ""
    assert rows["alice"]["submitted_at"].startswith("2026-11-30 10:00:00")


def test_two_answer_cells_with_one_grade_id_are_named_and_the_first_is_graded(batch):
    _, results = batch
    duplicate = results["duplicate"]
    assert duplicate.score == 3
    assert any("both marked as answer square_answer" in p for p in duplicate.problems)


def test_an_older_format_notebook_is_upgraded_and_graded(batch):
    _, results = batch
    assert (results["old-format"].score, results["old-format"].problems) == (3, [])


@pytest.mark.parametrize(
    "student, words",
    [
        ("symlink", "is a symbolic link"),
        ("hardlink", "is a hard link"),
        ("linked-folder", "is a symbolic link"),
    ],
)
def test_a_linked_notebook_or_folder_is_refused(batch, student, words):
    _, results = batch
    assert results[student].score == 0
    assert any(words in p for p in results[student].problems), results[student].problems
