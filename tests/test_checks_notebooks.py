"""Every exercise's test cells, run in this process, on every framework's notebook.

The reference solutions pass every test cell, and each wrong answer of the table
(``helpers/wrong_answers.py``) loses its own question only, with its own words. The
``test_checks_<exercise>.py`` files test what is particular to each exercise's checks.
"""

from __future__ import annotations

import pytest

from autograder.course import DEFAULT_COURSE
from autograder.sources import exercises
from helpers.notebook_runner import failing, run_in_process
from helpers.wrong_answers import WRONG_ANSWERS
from pmcheck import FRAMEWORKS

NOTEBOOKS = [
    exercise.assignment(framework)
    for exercise in exercises(DEFAULT_COURSE)
    for framework in FRAMEWORKS
]


def test_every_exercise_is_here():
    assert {name.rsplit("_", 1)[0] for name in NOTEBOOKS} == {
        "access",
        "initialization",
        "tying",
        "deferred",
        "portability",
    }
    assert {row.assignment for row in WRONG_ANSWERS} == {
        name.rsplit("_", 1)[0] for name in NOTEBOOKS
    }


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_reference_solutions_pass_every_test_cell(notebook):
    results = run_in_process(notebook)
    assert not failing(results), results


@pytest.mark.parametrize("row", WRONG_ANSWERS, ids=lambda row: row.id)
def test_wrong_answer_loses_its_question_only(row):
    results = run_in_process(row.notebook, {row.answer: row.code})
    assert failing(results) == set(row.fails), results
    assert row.message in results[row.fails[0]]
