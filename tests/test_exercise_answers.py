"""Graded for real, does every wrong answer in the table lose its question's points, and only those?

Each row of ``helpers.wrong_answers.WRONG_ANSWERS`` is handed in, in place of the reference
solution, and graded through ``grade`` like any submission: fresh kernel, instructor's
test cells with hidden tests. To keep kernel starts and framework imports few, rows for
*different* answer cells of one notebook share a submission (the k-th wrong answer of each
question), and each assignment is graded in one batch. The in-process tests in
``test_checks_*.py`` run every row on its own; here the real pipeline must agree: the
row's test cells score 0 with the check's message, every other test cell full marks.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from autograder.course import DEFAULT_COURSE
from autograder.grade import QuestionResult
from autograder.notebooks import with_answers
from helpers.course_fixtures import CourseCopy
from helpers.wrong_answers import WRONG_ANSWERS, WrongAnswer, submissions

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


SUBMISSIONS = submissions(WRONG_ANSWERS)
STUDENT = {row.id: student for student, rows in SUBMISSIONS.items() for row in rows}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Callable[[str], dict[str, dict[str, QuestionResult]]]:
    """Grade an assignment's wrong-answer submissions once: student -> grade_id -> result."""
    cache: dict[str, dict[str, dict[str, QuestionResult]]] = {}

    def grade(assignment: str) -> dict[str, dict[str, QuestionResult]]:
        if assignment not in cache:
            course = CourseCopy(DEFAULT_COURSE, tmp_path_factory.mktemp(assignment) / "course")
            for student, rows in SUBMISSIONS.items():
                if rows[0].assignment != assignment:
                    continue
                notebook = rows[0].notebook
                answers = {row.answer: row.code for row in rows}
                course.submit(
                    student,
                    assignment,
                    notebook,
                    with_answers(course.solution_submission(assignment, notebook), answers),
                )
            results = course.grade(assignment)
            cache[assignment] = {
                result.student: {q.grade_id: q for q in result.questions} for result in results
            }
        return cache[assignment]

    return grade


@pytest.mark.parametrize("row", WRONG_ANSWERS, ids=lambda row: row.id)
def test_wrong_answer_loses_its_questions_points_only(row: WrongAnswer, graded):
    student = STUDENT[row.id]
    questions = graded(row.assignment)[student]
    for name in row.fails:
        assert questions[name].score == 0, (name, questions[name])
    assert row.message in questions[row.fails[0]].message, questions[row.fails[0]].message
    wrong_together = {name for other in SUBMISSIONS[student] for name in other.fails}
    for name, question in questions.items():
        if name not in wrong_together:
            assert question.score == question.max_score, (name, question.message)
