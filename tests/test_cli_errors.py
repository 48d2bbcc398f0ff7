"""Does bad input to ``python -m autograder`` give one clear line and a failing exit code?"""

import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_missing_course_is_one_line(tmp_path):
    result = run_cli("grade", "squares", "--course", str(tmp_path / "nowhere"))
    assert_one_line_error(result, "no course directory", "nowhere")


def test_folder_without_source_is_not_a_course(tmp_path):
    assert_one_line_error(run_cli("export", "--course", str(tmp_path)), "not an nbgrader course")


def test_unknown_assignment_names_the_known_ones(fixture_course):
    result = run_cli("grade", "tyin", "--course", str(fixture_course.root))
    assert_one_line_error(result, "has no exercise or assignment 'tyin'", "squares")


@pytest.mark.parametrize("verb", ["release", "feedback"])
def test_unknown_assignment_for_other_verbs(fixture_course, verb):
    assert_one_line_error(
        run_cli(verb, "nope", "--course", str(fixture_course.root)),
        "has no exercise or assignment 'nope'",
    )


def test_check_of_a_missing_notebook(tmp_path):
    assert_one_line_error(run_cli("check", str(tmp_path / "absent.ipynb")), "no such file")


def test_check_of_a_notebook_that_is_not_json(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [')
    assert_one_line_error(run_cli("check", str(path)), "broken.ipynb is not valid JSON")


def test_check_of_json_that_is_not_a_notebook(tmp_path):
    path = tmp_path / "list.ipynb"
    path.write_text("[1, 2, 3]")
    assert_one_line_error(run_cli("check", str(path)), "not a notebook")


def test_feedback_before_grading_says_what_to_do(fixture_course):
    result = run_cli("feedback", "squares", "--course", str(fixture_course.root))
    assert_one_line_error(result, "run grade first")


def test_grading_an_absent_student(fixture_course):
    result = run_cli(
        "grade", "squares", "--student", "nobody", "--course", str(fixture_course.root)
    )
    assert_one_line_error(result, "nobody")


def test_a_course_is_found_in_the_current_folder(fixture_course, tmp_path):
    """As with nbgrader, an instructor runs the commands inside the course folder."""
    result = run_cli("grade", "squares", "--student", "nobody", cwd=fixture_course.root)
    assert_one_line_error(result, "nobody", str(fixture_course.root / "submitted"))
    result = run_cli("export", cwd=fixture_course.root)
    assert result.returncode == 0, result.stderr
    assert (fixture_course.root / "grades.csv").is_file()
    elsewhere = run_cli("grade", "squares", "--student", "nobody", cwd=tmp_path)
    assert "squares" in elsewhere.stderr  # the repository's course has no such exercise


def test_the_console_script_is_the_same_command(tmp_path):
    """pyproject.toml installs ``autograder``; it answers like ``python -m autograder``."""
    script = Path(sys.executable).with_name("autograder")
    shown = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: autograder ")
    for command in ("grade", "feedback", "export", "check", "release", "sources"):
        assert command in shown.stdout
    wrong = subprocess.run(
        [str(script), "grade", "squares", "--course", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line_error(wrong, "no course directory")
