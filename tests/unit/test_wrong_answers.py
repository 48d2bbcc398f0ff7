"""Is the table of wrong answers complete, and are its rows combined into submissions right?

The table (``tests/helpers/wrong_answers.py``) drives test_checks_*.py in process and
test_exercise_answers.py through real grading; these checks read it and the source
notebooks only.
"""

from __future__ import annotations

from collections import defaultdict

from autograder.course import FRAMEWORKS
from autograder.notebooks import grade_id, is_answer, is_auto_test
from helpers.notebook_runner import source_notebook
from helpers.wrong_answers import WRONG_ANSWERS, WrongAnswer, submissions

SUBMISSIONS = submissions(WRONG_ANSWERS)


def row(notebook: str, answer: str, label: str, fails: tuple[str, ...]) -> WrongAnswer:
    return WrongAnswer(notebook, answer, "hard-coded", label, "pass", fails, "")


def test_the_kth_row_of_each_answer_cell_goes_into_the_kth_submission_of_its_notebook():
    rows = [
        row("t_mxnet", "a", "a0", ("ta",)),
        row("t_mxnet", "a", "a1", ("ta",)),
        row("t_mxnet", "b", "b0", ("tb",)),
        row("t_pytorch", "a", "p0", ("ta",)),
    ]
    grouped = submissions(rows)
    assert {student: [r.label for r in rs] for student, rs in grouped.items()} == {
        "t_mxnet-0": ["a0", "b0"],
        "t_mxnet-1": ["a1"],
        "t_pytorch-0": ["p0"],
    }


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
