"""Does the course work with its gradebook in PostgreSQL (nbgrader's ``db_url``), and do two
``grade`` runs of different assignments at once leave it whole?

Each test gets a new database on a real PostgreSQL server that the suite starts
(``tests/helpers/postgres_fixtures.py``); no SQLite file is made.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.export import export_grades
from autograder.feedback import generate_feedback
from autograder.grade import grade_assignment
from autograder.kernel import Limits
from autograder.notebooks import with_answers
from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

PT, MX = "squares_pytorch", "squares_mxnet"
LIMITS = Limits(cell_timeout=20, notebook_timeout=120, output_bytes=256 * 1024)
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
HARD_CODED = {"square_answer": "def square(x):\n    return 9"}


def postgres_course(root: Path, url: str) -> CourseCopy:
    course = CourseCopy(FIXTURE_COURSE, root)
    with (course.root / "nbgrader_config.py").open("a") as config:
        config.write(f"c.CourseDirectory.db_url = {url!r}\n")
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory, postgres_server):
    """The fixture course with a PostgreSQL gradebook, a small batch graded into it."""
    url = postgres_server.url(postgres_server.create_database())
    course = postgres_course(tmp_path_factory.mktemp("pg") / "course", url)
    solution = {name: course.solution_submission("squares", name) for name in (PT, MX)}
    course.submit("alice", "squares", PT, solution[PT])
    course.submit("bob", "squares", PT, course.released_notebook("squares", PT))
    course.submit("leo", "squares", PT, with_answers(solution[PT], HARD_CODED))
    course.submit("leo", "squares", MX, solution[MX])
    results = {r.student: r for r in grade_assignment(course.root, "squares", limits=LIMITS)}
    return course, url, results


def test_grade_writes_its_scores_to_postgres_and_no_sqlite_file(graded):
    from nbgrader.api import Gradebook

    course, url, results = graded
    assert {s: (r.score, r.max_score) for s, r in results.items()} == {
        "alice": (3, 3),
        "bob": (0, 3),
        "leo": (3, 3),
    }
    assert not (course.root / "gradebook.db").exists()
    with Gradebook(url, "fixture-course") as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "bob", "leo"]
        assert gb.find_submission(PT, "alice").score == 3
        assert (gb.find_submission(PT, "leo").score, gb.find_submission(MX, "leo").score) == (1, 3)
        # the instructor's test cells, stored at release, are there too
        assert {c.name for c in gb.find_notebook(PT, PT).source_cells} >= {"square_is_correct"}


def test_feedback_and_export_work_with_postgres(graded, tmp_path):
    course, _, _ = graded
    pages = generate_feedback(course.root, "squares")
    assert course.root / "feedback" / "leo" / "squares.html" in pages
    assert "got 9" in (course.root / "feedback" / "leo" / "squares.html").read_text()
    rows = {
        row["student_id"]: row
        for row in csv.DictReader(export_grades(course.root, tmp_path / "grades.csv").open())
    }
    assert (rows["leo"]["counted_assignment"], rows["leo"]["score"]) == (MX, "3")


def test_stock_nbgrader_commands_work_with_postgres(graded, tmp_path):
    course, _, _ = graded
    for command in (
        ["export", "--to", str(tmp_path / "theirs.csv")],
        ["generate_feedback", PT, "--force"],
        ["autograde", PT, "--student", "bob", "--force"],
        ["db", "student", "list"],
    ):
        done = subprocess.run(
            [NBGRADER, *command], cwd=course.root, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"nbgrader {command[0]}: {done.stderr[-1500:]}"
    theirs = {
        (row["student_id"], row["assignment"]): float(row["score"])
        for row in csv.DictReader((tmp_path / "theirs.csv").open())
    }
    assert theirs[("alice", PT)] == 3 and theirs[("leo", MX)] == 3
    assert (course.root / "feedback" / "alice" / PT / f"{PT}.html").exists()
    assert not (course.root / "gradebook.db").exists()


def test_formgrader_lists_the_submissions_from_postgres(graded):
    """The formgrader's pages are served from nbgrader's API: does it read the database?"""
    from nbgrader.apps.api import NbGraderAPI

    from autograder.course import Course, quiet_log

    course = Course.open(graded[0].root)
    api = NbGraderAPI(coursedir=course.coursedir(), config=course.config, log=quiet_log())
    submissions = {s["student"]: s for s in api.get_submissions(PT)}
    assert submissions["alice"]["autograded"] and submissions["alice"]["score"] == 3
    assert submissions["leo"]["needs_manual_grade"]  # its written answer waits for a person
    assert api.get_assignment(PT)["num_submissions"] == 3


def test_two_grade_runs_at_once_leave_the_gradebook_whole(tmp_path, postgres_url):
    """Two ``grade`` processes, one per assignment, adding the same new students at once."""
    from nbgrader.api import Gradebook

    course = postgres_course(tmp_path / "course", postgres_url)
    solution = {name: course.solution_submission("squares", name) for name in (PT, MX)}
    students = [f"s{i:02d}" for i in range(8)]
    for i, student in enumerate(students):
        # odd students hard-code square() in PyTorch: each run has its own scores to write
        pt = with_answers(solution[PT], HARD_CODED) if i % 2 else solution[PT]
        course.submit(student, "squares", PT, pt)
        course.submit(student, "squares", MX, solution[MX])
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder",
                "grade",
                name,
                "--course",
                str(course.root),
                "--cell-timeout",
                "20",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in (PT, MX)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0, err[-2000:]
        assert "could not record" not in out
    with Gradebook(postgres_url, "fixture-course") as gb:
        assert sorted(s.id for s in gb.students) == students
        pt = {s.student.id: s.score for s in gb.assignment_submissions(PT)}
        mx = {s.student.id: s.score for s in gb.assignment_submissions(MX)}
    assert pt == {s: (1 if i % 2 else 3) for i, s in enumerate(students)}
    assert mx == dict.fromkeys(students, 3)


def test_a_student_another_run_adds_meanwhile_costs_no_results(tmp_path, postgres_url, monkeypatch):
    """If another ``grade`` run adds the same new student between our look-up and our insert
    (the race of two runs at once), is our transaction repeated, the results kept?"""
    from nbgrader.api import Gradebook, MissingEntry

    course = postgres_course(tmp_path / "course", postgres_url)
    course.submit("ana", "squares", PT, course.solution_submission("squares", PT))
    find = Gradebook.find_student
    raced = []

    def racing(self, student_id):
        if not raced:  # the other run wins: it commits the student just after we looked
            raced.append(student_id)
            with Gradebook(postgres_url, "fixture-course") as other:
                other.add_student(student_id)
            raise MissingEntry()
        return find(self, student_id)

    monkeypatch.setattr(Gradebook, "find_student", racing)
    (result,) = grade_assignment(course.root, PT, limits=LIMITS)
    assert raced == ["ana"]
    assert (result.score, result.problems) == (3, [])
    with Gradebook(postgres_url, "fixture-course") as gb:
        assert [s.id for s in gb.students] == ["ana"]
        assert gb.find_submission(PT, "ana").score == 3
