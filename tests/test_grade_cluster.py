"""Does ``grade --scheduler`` grade on a Dask cluster as ``grade`` does here, losing no notebook
and counting none twice when a worker dies mid-batch?

The suite starts a real ``LocalCluster`` of two worker processes (with their nannies) for this
module; the workers import this checkout's ``autograder`` from the environment the tests run in.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path

import nbformat
import pytest

from autograder import grade as grade_module
from autograder.cluster import PLUGIN
from autograder.grade import NotebookTask, grade_assignment
from autograder.kernel import Limits
from autograder.notebooks import grade_id, with_answers
from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

PT, MX = "squares_pytorch", "squares_mxnet"
LIMITS = Limits(cell_timeout=20, notebook_timeout=120, output_bytes=256 * 1024)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, two threads each, on this machine; the dashboard on a free port."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
        ) as local,
        Client(local) as client,
    ):
        yield local, client


def scores(result) -> dict[str, float]:
    return {f"{q.notebook}:{q.grade_id}": q.score for q in result.questions}


def solution_text(course: CourseCopy, name: str, answer: str) -> str:
    source = course.source_notebook("squares", name)
    (cell,) = [c for c in source.cells if grade_id(c) == answer]
    return "\n".join(line for line in cell.source.splitlines() if "### " not in line)


def test_cli_grades_on_the_cluster_as_it_does_here(cluster, tmp_path):
    local, _ = cluster
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    solution = {name: course.solution_submission("squares", name) for name in (PT, MX)}
    blank = course.released_notebook("squares", PT)
    hand_ins = {
        "alice": [(PT, solution[PT])],
        "bob": [(PT, blank)],
        "carol": [(MX, b'{"cells": [ not json')],
        "dave": [(PT, with_answers(solution[PT], {"square_answer": "import os\nos._exit(3)"}))],
        "judy": [
            (PT, with_answers(blank, {"square_answer": "def square(x):\n    return 9"})),
            (MX, solution[MX]),
        ],
    }
    for student, notebooks in hand_ins.items():
        for name, nb in notebooks:
            course.submit(student, "squares", name, nb)
    there = {
        r.student: r
        for r in grade_assignment(
            course.root, "squares", limits=LIMITS, scheduler=local.scheduler_address
        )
    }
    assert (course.root / "autograded" / "judy" / MX / f"{MX}.ipynb").exists()
    here = {r.student: r for r in grade_assignment(course.root, "squares", limits=LIMITS)}
    assert set(here) == set(there) == set(hand_ins)
    for student in hand_ins:
        assert scores(there[student]) == scores(here[student])
        assert there[student].problems == here[student].problems
        assert (there[student].score, there[student].notebook) == (
            here[student].score,
            here[student].notebook,
        )
    assert "kernel exited with status 3" in " ".join(there["dave"].problems)
    # the command: the same table as without --scheduler
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            "squares",
            "--course",
            str(course.root),
            "--scheduler",
            local.scheduler_address,
            "--cell-timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = {
        line.split()[0]: line.split()[1:3]
        for line in done.stdout.splitlines()
        if line.split() and line.split()[0] in hand_ins
    }
    assert table == {
        "alice": ["3", "3"],
        "bob": ["0", "3"],
        "carol": ["0", "3"],
        "dave": ["0", "3"],
        "judy": ["3", "3"],
    }


def test_each_worker_starts_its_kernel_factory_once(cluster, tmp_path):
    local, client = cluster
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    solution = course.solution_submission("squares", PT)
    for i in range(8):
        course.submit(f"s{i}", "squares", PT, solution)
    results = grade_assignment(course.root, PT, limits=LIMITS, scheduler=local.scheduler_address)
    assert [r.score for r in results] == [3] * 8

    def starts(dask_worker):
        kernels = dask_worker.plugins[PLUGIN].kernels
        return {f"{sandbox}-{warm}": k.starts for (sandbox, warm), k in kernels.items()}

    per_worker = client.run(starts)
    assert len(per_worker) == 2
    # prewarmed once, on each worker, for the whole batch (and for the test before this)
    assert all(counts == {"True-True": 1} for counts in per_worker.values()), per_worker


def test_a_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(
    cluster, tmp_path, monkeypatch
):
    local, client = cluster
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    solution = course.solution_submission("squares", PT)
    slow = "import time\ntime.sleep(2)\n" + solution_text(course, PT, "square_answer")
    students = [f"s{i:02d}" for i in range(12)]
    for student in students:
        course.submit(student, "squares", PT, with_answers(solution, {"square_answer": slow}))
    recorded: list[tuple[str, str]] = []
    record = grade_module._Recorder._record

    def counting(self, student, assignment, *args, **kwargs):
        recorded.append((student, assignment))
        return record(self, student, assignment, *args, **kwargs)

    monkeypatch.setattr(grade_module._Recorder, "_record", counting)
    outcome: dict = {}
    thread = threading.Thread(
        target=lambda: outcome.update(
            results=grade_assignment(
                course.root, PT, limits=LIMITS, scheduler=local.scheduler_address
            )
        )
    )
    thread.start()
    victim, running = _busy_worker(client, deadline=time.monotonic() + 120)
    pids = client.run(os.getpid)
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    results = outcome["results"]
    assert running, "the worker was killed while it graded nothing"
    assert [r.student for r in results] == students
    assert all((r.score, r.max_score, r.problems) == (3, 3, []) for r in results), [
        (r.student, r.score, r.problems) for r in results
    ]
    assert sorted(recorded) == [(s, PT) for s in students]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", "fixture-course") as gb:
        assert sorted(s.student.id for s in gb.assignment_submissions(PT)) == students
        assert {gb.find_submission(PT, s).score for s in students} == {3}
    client.wait_for_workers(2, timeout=60)  # the nanny starts the killed one again


def _busy_worker(client, deadline: float) -> tuple[str, list]:
    """A worker with a grading task that has run for a second (its kernel is mid-notebook)."""
    while time.monotonic() < deadline:
        busy = {
            worker: keys
            for worker, keys in client.processing().items()
            if any(str(k).startswith("grade-") for k in keys)
        }
        if busy:
            time.sleep(1.0)
            worker = sorted(busy)[0]
            still = [k for k in client.processing().get(worker, ()) if str(k).startswith("grade-")]
            if still:
                return worker, still
        time.sleep(0.1)
    raise AssertionError("no grading task started on the cluster")


def test_a_task_is_plain_data(fixture_course):
    """Does the work unit carry no path of this machine?"""
    fixture_course.release(PT)
    submitted = fixture_course.submit(
        "alice", "squares", PT, fixture_course.solution_submission("squares", PT)
    )
    (submitted.parent / "data.txt").write_text("beside the notebook")
    from autograder.course import Course

    course = Course.open(fixture_course.root)
    templates = grade_module.instructor_notebooks(course, PT)
    kernels = grade_module._Kernels(False, False, {PT: ()})
    grader = grade_module._Grader(
        course,
        "squares",
        templates,
        {PT: PT},
        {PT: grade_module.read_test_cells(templates[PT], PT)},
        LIMITS,
        kernels,
    )
    try:
        task = grader.task(submitted.parent, PT)
    finally:
        grader.recorder.close()
    assert isinstance(task, NotebookTask)
    assert task.files == {"data.txt": b"beside the notebook"}
    assert not [f.name for f in fields(task) if isinstance(getattr(task, f.name), Path)]
    assert str(fixture_course.root) not in pickle.dumps(task).decode("latin-1")
    # the cap on the files together: tests/unit/test_grade.py


def test_an_executed_notebook_comes_back_as_plain_data(cluster, tmp_path):
    """Can the outcome of a task be written as nbformat JSON (nothing live in it)?"""
    local, _ = cluster
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    course.submit("alice", "squares", PT, course.solution_submission("squares", PT))
    grade_assignment(course.root, PT, limits=LIMITS, scheduler=local.scheduler_address)
    graded = course.root / "autograded" / "alice" / PT / f"{PT}.ipynb"
    nbformat.validate(nbformat.read(graded, 4))


def test_an_unreachable_scheduler_is_one_line_and_exit_status_2(fixture_course):
    fixture_course.release(PT)
    fixture_course.submit("alice", "squares", PT, fixture_course.solution_submission("squares", PT))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            PT,
            "--course",
            str(fixture_course.root),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(
        "autograder: error: cannot reach the Dask scheduler at " "tcp://127.0.0.1:9: "
    )
