"""Does ``grade`` grade a whole class fairly when some submissions are broken or hostile?

One batch of the fixture course (tests/fixtures/course) is graded once per module on
each kernel path (forked from the warm factory, and started afresh): each student below
tries one thing.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.export import COLUMNS, export_grades
from autograder.grade import SubmissionResult, grade_assignment
from autograder.kernel import Limits
from autograder.notebooks import with_answers
from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

PT, MX = "squares_pytorch", "squares_mxnet"
WRONG = {
    "square_answer": "def square(x):\n    return x + x",
    "cube_answer": "def cube(x):\n    return x * 3",
}
#: Small enough to keep the suite fast, large enough for a kernel on a busy machine.
LIMITS = Limits(cell_timeout=10, notebook_timeout=120, output_bytes=256 * 1024)


def drop_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    nb.cells = [
        c
        for c in nb.cells
        if not c.metadata.get("nbgrader", {}).get("grade") or c.metadata.nbgrader.get("solution")
    ]
    return nb


def neuter_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cell.source = "pass  # the tests were here"
    return nb


def inject_fake_test(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    fake = nbformat.v4.new_code_cell(
        "square = lambda x: x * x",
        metadata={
            "nbgrader": {
                "grade": True,
                "grade_id": "square_is_correct",
                "locked": True,
                "points": 2,
                "solution": False,
                "schema_version": 3,
            }
        },
    )
    nb.cells.insert(len(nb.cells) - 1, fake)
    nb.cells = list(reversed(nb.cells))  # and shuffle the order for good measure
    return nb


@pytest.fixture(scope="module", params=["warm", "fresh"])
def batch(tmp_path_factory, request) -> tuple[CourseCopy, dict[str, SubmissionResult]]:
    """The batch graded on kernels forked from the warm factory, and on fresh ones."""
    course = CourseCopy(FIXTURE_COURSE, tmp_path_factory.mktemp("batch") / "course")
    solution = {name: course.solution_submission("squares", name) for name in (PT, MX)}
    blank = {name: course.released_notebook("squares", name) for name in (PT, MX)}
    submissions = {
        "alice": [(PT, solution[PT])],
        "bob": [(MX, blank[MX])],
        "carol": [(MX, b'{"cells": [ this is not json')],
        "dave": [(PT, with_answers(solution[PT], {"square_answer": "import os\nos._exit(3)"}))],
        "erin": [(PT, with_answers(solution[PT], {"square_answer": "while True:\n    pass"}))],
        "frank": [(PT, neuter_tests(with_answers(blank[PT], WRONG)))],
        "grace": [(PT, drop_tests(with_answers(blank[PT], WRONG)))],
        "heidi": [(MX, drop_tests(solution[MX]))],
        "ivan": [(PT, inject_fake_test(blank[PT]))],
        "judy": [(PT, with_answers(blank[PT], WRONG)), (MX, solution[MX])],
        "kim": [
            (
                PT,
                with_answers(
                    solution[PT], {"square_answer": "while True:\n    print('x' * 100_000)"}
                ),
            )
        ],
        "leo": [
            (PT, with_answers(solution[PT], {"square_answer": "def square(x):\n    return 9"}))
        ],
        "max": [(PT, with_answers(solution[PT], {"square_answer": "hog = bytearray(64 << 30)"}))],
        "nina": [
            (MX, with_answers(solution[MX], {"cube_answer": "import ctypes\nctypes.string_at(0)"}))
        ],
    }
    for student, notebooks in submissions.items():
        for name, nb in notebooks:
            course.submit(student, "squares", name, nb)
    results = grade_assignment(course.root, "squares", limits=LIMITS, warm=request.param == "warm")
    return course, {r.student: r for r in results}


def scores(result: SubmissionResult) -> dict[str, float]:
    return {f"{q.notebook}:{q.grade_id}": q.score for q in result.questions}


def test_reference_solution_gets_full_marks(batch):
    _, results = batch
    assert (results["alice"].score, results["alice"].max_score) == (3, 3)
    assert results["alice"].problems == []


def test_unchanged_release_gets_zero_without_problems(batch):
    _, results = batch
    assert results["bob"].score == 0
    assert results["bob"].max_score == 3
    assert results["bob"].problems == []


def test_invalid_json_is_one_problem_and_the_others_are_graded(batch):
    _, results = batch
    assert results["carol"].problems == ["squares_mxnet.ipynb is not valid JSON"]
    assert results["carol"].score == 0
    assert len(results) == 14
    assert results["heidi"].score == 3  # graded after carol, alphabetically


def test_kernel_that_exits_is_a_problem_not_a_crash(batch):
    _, results = batch
    (problem,) = results["dave"].problems
    assert "kernel exited with status 3" in problem
    # test cells after the exit did not run, so they cannot pass
    assert results["dave"].score == 0


def test_infinite_loop_is_interrupted_and_the_rest_runs(batch):
    _, results = batch
    (problem,) = results["erin"].problems
    assert "square_answer" in problem and "ran longer than 10 s" in problem
    assert scores(results["erin"]) == {f"{PT}:square_is_correct": 0, f"{PT}:cube_is_correct": 1}


def test_edited_test_cells_are_restored(batch):
    _, results = batch
    assert results["frank"].score == 0
    assert all("should be" in q.message for q in results["frank"].questions)


def test_deleted_test_cells_are_restored(batch):
    _, results = batch
    assert results["grace"].score == 0 and len(results["grace"].questions) == 2
    assert results["heidi"].score == results["heidi"].max_score == 3


def test_injected_test_cell_is_ignored(batch):
    _, results = batch
    assert results["ivan"].score == 0
    assert [q.grade_id for q in results["ivan"].questions] == [
        "square_is_correct",
        "cube_is_correct",
    ]


def test_best_framework_counts_out_of_its_own_maximum(batch):
    _, results = batch
    judy = results["judy"]
    assert (judy.notebook, judy.score, judy.max_score) == (MX, 3, 3)
    assert {q.notebook for q in judy.questions} == {PT, MX}


def test_output_flood_is_cut_and_reported(batch):
    course, results = batch
    assert any("output" in p for p in results["kim"].problems)
    assert scores(results["kim"])[f"{PT}:cube_is_correct"] == 1
    saved = course.root / "autograded" / "kim" / PT / f"{PT}.ipynb"
    assert saved.stat().st_size < 2 * LIMITS.output_bytes


def test_hard_coded_answer_loses_only_that_question(batch):
    _, results = batch
    leo = scores(results["leo"])
    assert leo == {f"{PT}:square_is_correct": 0, f"{PT}:cube_is_correct": 1}
    (failed,) = [q for q in results["leo"].questions if q.score == 0]
    assert "should be" in failed.message and "got 9" in failed.message


def test_memory_hog_gets_a_memory_error_and_the_rest_runs(batch):
    course, results = batch
    assert results["max"].problems == []
    assert scores(results["max"]) == {f"{PT}:square_is_correct": 0, f"{PT}:cube_is_correct": 1}
    graded = nbformat.read(course.root / "autograded" / "max" / PT / f"{PT}.ipynb", 4)
    errors = [
        out.ename
        for cell in graded.cells
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    assert errors[0] == "MemoryError"


def test_crashing_kernel_is_a_problem_and_earlier_points_stay(batch):
    _, results = batch
    assert results["nina"].problems == ["squares_mxnet.ipynb: the kernel crashed (SIGSEGV)"]
    assert scores(results["nina"]) == {f"{MX}:square_is_correct": 2, f"{MX}:cube_is_correct": 0}


def test_gradebook_holds_nbgrader_scores(batch):
    from nbgrader.api import Gradebook

    course, results = batch
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", "fixture-course") as gb:
        # each framework's notebook is an assignment of its own, scored out of its points
        judy = {a: gb.find_submission(a, "judy") for a in (PT, MX)}
        by_assignment = {a: (s.score, s.max_score) for a, s in judy.items()}
        alice = gb.find_submission_notebook(PT, PT, "alice")
        needs_hand = [g.name for g in alice.grades if g.needs_manual_grade]
    assert by_assignment == {PT: (0, 4), MX: (3, 4)}
    assert needs_hand == ["why_squares"]


def test_regrading_gives_the_same_scores(batch):
    course, results = batch
    again = grade_assignment(
        course.root, "squares", students=["alice", "carol", "judy", "leo"], limits=LIMITS, workers=2
    )
    for result in again:
        assert scores(result) == scores(results[result.student])
        assert result.problems == results[result.student].problems


def test_export_has_a_row_per_exercise_and_student_agreeing_with_nbgrader(batch, tmp_path):
    course, results = batch
    ours = list(csv.DictReader(export_grades(course.root, tmp_path / "ours.csv").open()))
    subprocess.run(
        [
            str(Path(sys.executable).parent / "nbgrader"),
            "export",
            "--to",
            str(tmp_path / "theirs.csv"),
        ],
        cwd=course.root,
        check=True,
        capture_output=True,
    )
    theirs = list(csv.DictReader((tmp_path / "theirs.csv").open()))
    assert list(ours[0]) == COLUMNS
    rows = {row["student_id"]: row for row in ours}
    assert set(rows) == set(results) and {row["exercise"] for row in ours} == {"squares"}
    # nbgrader has one row per assignment (framework); ours shows the one that counts
    nbgrader_scores = {
        (row["student_id"], row["assignment"]): float(row["score"]) for row in theirs
    }
    for student, row in rows.items():
        if row["counted_assignment"]:
            assert float(row["score"]) == nbgrader_scores[(student, row["counted_assignment"])]
    assert (
        rows["judy"]["counted_assignment"],
        rows["judy"]["score"],
        rows["judy"]["max_score"],
    ) == (MX, "3", "4")
    assert rows["judy"]["frameworks_handed_in"] == "pytorch;mxnet"
    assert rows["carol"]["score"] == "0"


def test_feedback_has_a_page_per_notebook_and_a_summary(batch):
    from autograder.feedback import generate_feedback

    course, _ = batch
    pages = generate_feedback(course.root, "squares")
    leo = course.root / "feedback" / "leo"
    assert leo / "squares.html" in pages
    assert (leo / PT / f"{PT}.html").exists()
    assert "got 9" in (leo / "squares.html").read_text()
    # nbgrader's own command wipes its folders, not our summary beside them
    subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "generate_feedback", PT, "--force"],
        cwd=course.root,
        check=True,
        capture_output=True,
    )
    assert "got 9" in (leo / "squares.html").read_text()
    assert (leo / PT / f"{PT}.html").exists()


def test_formgrader_shows_a_learner_the_maximum_of_their_own_framework(batch):
    """nbgrader's own views: alice did PyTorch only and is out of that notebook's 4 points."""
    from nbgrader.apps.api import NbGraderAPI

    from autograder.course import Course, quiet_log

    course, _ = batch
    opened = Course.open(course.root)
    api = NbGraderAPI(coursedir=opened.coursedir(), config=opened.config, log=quiet_log())
    alice = api.get_submission(PT, "alice")
    assert (alice["score"], alice["max_score"]) == (3, 4)
    assert [s["student"] for s in api.get_submissions(MX) if s["student"] == "alice"] == []
