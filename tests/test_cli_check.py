"""Does a learner's check tell them, from their notebook alone, what grading will say?

``pmcheck NOTEBOOK`` runs the saved file in a fresh kernel; ``check(...)`` runs in the
live kernel. Both run the original public tests, and both must warn about what costs
points when graded although the answers are right.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.notebooks import with_answers

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

PMCHECK = str(Path(sys.executable).parent / "pmcheck")
PT = "tying_pytorch"
RIGHT = {
    "answer_make_tied_net": (
        "def make_tied_net(d, h):\n    shared = nn.Linear(h, h)\n"
        "    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), shared, nn.ReLU(), shared,\n"
        "                         nn.ReLU(), nn.Linear(h, 1))"
    ),
    "answer_tied_weight_grad": "def tied_weight_grad(w, x):\n    return 2.0 * w * x",
}


def run_pmcheck(path: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PMCHECK, str(path), *args],
        capture_output=True,
        text=True,
        cwd=cwd or path.parent,
        timeout=300,
    )


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The released tying_pytorch and squares_pytorch, with nothing of the instructor's."""
    from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy
    from autograder.course import DEFAULT_COURSE

    root = tmp_path_factory.mktemp("released")
    real = CourseCopy(DEFAULT_COURSE, root / "course")
    fixture = CourseCopy(FIXTURE_COURSE, root / "fixture")
    found = {
        PT: real.released_notebook("tying", PT),
        "squares_pytorch": fixture.released_notebook("squares", "squares_pytorch"),
    }
    shutil.rmtree(real.root)
    shutil.rmtree(fixture.root)
    return found


@pytest.fixture
def write(released, tmp_path):
    """Write a released notebook with answers into a learner's folder of its own."""

    def write(
        answers: dict[str, str], name: str = PT, file_name: str | None = None, edit=None
    ) -> Path:
        nb = with_answers(released[name], answers)
        if edit is not None:
            edit(nb)
        path = tmp_path / (file_name or f"{name}.ipynb")
        nbformat.write(nb, path)
        return path

    return write


def test_right_answers_pass_and_exit_zero(write):
    result = run_pmcheck(write(RIGHT))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed   tied_layers_are_one_object  4 points" in result.stdout
    assert "passed   tied_grad_is_sum            4 points" in result.stdout
    assert "by hand  why_tie_parameters" in result.stdout
    assert "Public tests: 8 of 8 points passed." in result.stdout
    assert result.stderr == ""


def test_a_wrong_answer_fails_with_the_checks_message_only(write):
    wrong = {**RIGHT, "answer_tied_weight_grad": "def tied_weight_grad(w, x):\n    return w * x"}
    result = run_pmcheck(write(wrong))
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert line.split()[:2] == ["FAILED", "tied_grad_is_sum"] and "0 of 4 points: for w = 3" in line
    assert "Traceback" not in result.stdout
    assert "passed   tied_layers_are_one_object" in result.stdout


def test_an_unanswered_notebook_fails_every_automatic_question(write):
    result = run_pmcheck(write({}))
    assert result.returncode == 1
    assert result.stdout.count("FAILED") == 2
    assert "NotImplementedError" in result.stdout


def test_an_edited_test_cell_changes_nothing_and_is_pointed_out(write):
    wrong = {**RIGHT, "answer_tied_weight_grad": "def tied_weight_grad(w, x):\n    return 0.0"}

    def comment_out(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "tied_grad_is_sum":
                cell.source = "\n".join("# " + line for line in cell.source.splitlines())

    result = run_pmcheck(write(wrong, edit=comment_out))
    assert "FAILED   tied_grad_is_sum" in result.stdout  # the original test still ran
    assert (
        "Note: test cell tied_grad_is_sum was changed; the original tests ran, as they "
        "will when it is graded"
    ) in result.stdout


def test_a_renamed_file_is_a_problem_though_every_test_passes(write):
    result = run_pmcheck(write(RIGHT, file_name=f"{PT} (1).ipynb"))
    assert "Public tests: 8 of 8 points passed." in result.stdout
    assert (
        f"Problem: this file is named '{PT} (1).ipynb', but grading reads only " f"{PT}.ipynb"
    ) in result.stdout
    assert result.returncode == 1


def test_too_much_output_is_a_problem_before_grading_cuts_it(write):
    loud = {
        **RIGHT,
        "answer_tied_weight_grad": RIGHT["answer_tied_weight_grad"]
        + "\nfor _ in range(60):\n    print('x' * 100_000)",
    }
    result = run_pmcheck(write(loud))
    assert "Public tests: 8 of 8 points passed." in result.stdout
    assert "prints more than 4 MiB" in result.stdout and "answer_tied_weight_grad" in result.stdout
    assert result.returncode == 1


def test_a_syntax_error_is_named_as_such_not_as_a_name_error(write):
    broken = {**RIGHT, "answer_tied_weight_grad": "def tied_weight_grad(w, x)\n    return 1"}
    result = run_pmcheck(write(broken))
    (line,) = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert (
        "tied_weight_grad is not defined: its answer cell answer_tied_weight_grad stopped "
        "with SyntaxError at line 1 of the cell" in line
    )
    assert "NameError" not in result.stdout


def test_an_endless_answer_cell_is_stopped_once_and_said(write):
    endless = {**RIGHT, "answer_make_tied_net": "while True:\n    pass"}
    started = time.monotonic()
    result = run_pmcheck(write(endless), "--cell-timeout", "10")
    assert "answer_make_tied_net stopped with a timeout: it ran past 10 s" in result.stdout
    assert "passed   tied_grad_is_sum" in result.stdout  # the rest still ran
    assert time.monotonic() - started < 120


def test_ctrl_c_says_interrupted_not_killed(write):
    path = write({**RIGHT, "answer_make_tied_net": "import time\ntime.sleep(600)"})
    process = subprocess.Popen(
        [PMCHECK, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait_for_kernel(process.pid)  # and its answer cell is sleeping
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole group
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted (Ctrl-C): nothing was checked" in err
    assert "killed" not in out + err and "Traceback" not in err


def _wait_for_kernel(parent: int, seconds: float = 120) -> None:
    """Until ``parent``'s kernel has started and had time to reach the sleeping cell."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        for child in children:
            try:
                if b"ipykernel" in Path(f"/proc/{child}/cmdline").read_bytes():
                    time.sleep(8)  # imports torch, runs the set-up, then sleeps
                    return
            except OSError:
                continue
        time.sleep(0.2)
    raise AssertionError("the kernel never started")


def test_a_notebook_pmcheck_does_not_know_is_checked_by_its_own_tests(write):
    path = write(
        {
            "square_answer": "def square(x):\n    return x + x",
            "cube_answer": "def cube(x):\n    return x ** 3",
        },
        name="squares_pytorch",
    )
    result = run_pmcheck(path)
    assert (
        "FAILED   square_is_correct  0 of 2 points: square(3) should be 9; got 6" in result.stdout
    )
    assert "passed   cube_is_correct" in result.stdout
    assert "pmcheck does not know squares_pytorch" in result.stdout


def test_a_file_that_is_not_a_notebook_is_one_line(tmp_path):
    path = tmp_path / f"{PT}.ipynb"
    path.write_text('{"cells": [ broken')
    result = run_pmcheck(path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"pmcheck: error: {PT}.ipynb is not valid JSON")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    missing = run_pmcheck(tmp_path / "nowhere.ipynb", cwd=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_the_instructors_command_runs_the_same_check(write):
    path = write(RIGHT)
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=path.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Public tests: 8 of 8 points passed." in result.stdout
