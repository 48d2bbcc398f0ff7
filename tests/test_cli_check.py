"""Does ``check`` tell a learner, from their notebook alone, which questions pass?"""
from __future__ import annotations

import shutil

import nbformat
import pytest

from autograder.check import check_notebook, format_report
from autograder.notebooks import with_answers
from test_cli_errors import run_cli

pytestmark = pytest.mark.slow

PT = "squares_pytorch"


@pytest.fixture
def alone(fixture_course, tmp_path):
    """A folder holding one released notebook and nothing of the instructor's."""
    folder = tmp_path / "learner"
    folder.mkdir()
    nb = fixture_course.released_notebook("squares", PT)
    shutil.rmtree(fixture_course.root)  # no source, no gradebook, no release left

    def write(answers: dict[str, str]):
        path = folder / f"{PT}.ipynb"
        nbformat.write(with_answers(nb, answers), path)
        return path
    return write


def test_correct_answers_pass_and_exit_zero(alone):
    path = alone({"square_answer": "def square(x):\n    return x * x",
                  "cube_answer": "def cube(x):\n    return x ** 3"})
    result = run_cli("check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed   square_is_correct" in result.stdout
    assert "passed   cube_is_correct" in result.stdout
    assert "Public tests: 3 of 3 points passed." in result.stdout


def test_a_wrong_answer_fails_with_the_checks_message(alone):
    path = alone({"square_answer": "def square(x):\n    return x + x",
                  "cube_answer": "def cube(x):\n    return x ** 3"})
    result = check_notebook(path)
    verdicts = {q.grade_id: (q.passed, q.message) for q in result.questions}
    assert verdicts["square_is_correct"] == (False, "square(3) should be 9; got 6")
    assert verdicts["cube_is_correct"] == (True, "")
    assert verdicts["why_squares"][0] is None  # graded by hand
    assert not result.all_passed
    report = format_report(result)
    assert "FAILED   square_is_correct  0 of 2 points: square(3) should be 9; got 6" in report


def test_an_unanswered_notebook_fails_every_question(alone):
    result = run_cli("check", str(alone({})))
    assert result.returncode == 1
    assert result.stdout.count("FAILED") == 2
    assert "NotImplementedError" in result.stdout


def test_an_edited_test_cell_is_pointed_out(alone):
    path = alone({"square_answer": "def square(x):\n    return x * x",
                  "cube_answer": "def cube(x):\n    return x ** 3"})
    nb = nbformat.read(path, as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
             == "cube_is_correct"]
    tests[0].source = "pass"
    nbformat.write(nb, path)
    result = check_notebook(path)
    assert result.notes == ["test cell cube_is_correct was changed; grading uses the original"]
