"""Graded for real, does every wrong answer in the table lose its question's points, and only those?

Each row of ``wrong_answers.WRONG_ANSWERS`` is handed in, in place of the reference
solution, and graded through ``grade`` like any submission: fresh kernel, instructor's
test cells with hidden tests. To keep kernel starts and framework imports few, rows for
*different* answer cells of one notebook share a submission (the k-th wrong answer of each
question), and each assignment is graded in one batch. The in-process tests in
``test_checks_*.py`` run every row on its own; here the real pipeline must agree: the
row's test cells score 0 with the check's message, every other test cell full marks.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pytest

from autograder.course import DEFAULT_COURSE, FRAMEWORKS
from autograder.grade import QuestionResult
from autograder.notebooks import grade_id, is_answer, is_auto_test, with_answers
from helpers.course_fixtures import CourseCopy
from helpers.notebook_runner import source_notebook
from helpers.wrong_answers import WRONG_ANSWERS, WrongAnswer

pytestmark = pytest.mark.slow


def submissions(rows: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """Student name -> the rows handed in together: the k-th row of each answer cell."""
    by_answer: dict[tuple[str, str], list[WrongAnswer]] = defaultdict(list)
    for row in rows:
        by_answer[row.notebook, row.answer].append(row)
    grouped: dict[str, list[WrongAnswer]] = defaultdict(list)
    for (notebook, _), answers in by_answer.items():
        for k, row in enumerate(answers):
            grouped[f"{notebook}-{k}"].append(row)
    return dict(grouped)


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
                course.submit(student, assignment, notebook,
                              with_answers(course.solution_submission(assignment, notebook),
                                           answers))
            results = course.grade(assignment)
            cache[assignment] = {result.student: {q.grade_id: q for q in result.questions}
                                 for result in results}
        return cache[assignment]

    return grade


def test_submissions_combine_different_questions_only():
    """Does each submission hold wrong answers to distinct questions, failing distinct tests?"""
    for student, rows in SUBMISSIONS.items():
        assert len({row.notebook for row in rows}) == 1, student
        assert len({row.answer for row in rows}) == len(rows), student
        tests = [name for row in rows for name in row.fails]
        assert len(tests) == len(set(tests)), student


def test_every_question_has_a_hard_coded_and_a_misconceived_answer():
    """Does the table cover each answer cell and each test cell of every notebook?"""
    kinds = defaultdict(set)
    covered = defaultdict(set)
    for row in WRONG_ANSWERS:
        kinds[row.notebook, row.answer].add(row.kind)
        covered[row.notebook].update(row.fails)
    for assignment in ("access", "initialization", "tying", "deferred", "portability"):
        for framework in FRAMEWORKS:
            notebook = f"{assignment}_{framework}"
            cells = source_notebook(notebook).cells
            for answer in (grade_id(c) for c in cells if is_answer(c) and c.cell_type == "code"):
                assert kinds[notebook, answer] == {"hard-coded", "misconception"}, answer
            assert covered[notebook] == {grade_id(c) for c in cells if is_auto_test(c)}, notebook


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
