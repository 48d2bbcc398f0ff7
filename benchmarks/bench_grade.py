"""Time ``grade`` on the course's exercises: one submission per framework, then a batch.

    .venv/bin/python benchmarks/bench_grade.py [--assignment tying] [--batch 20]
                                               [--workers N] [--no-sandbox]

Works on a throw-away copy of exercises/ (or of the fixture course when the
exercises are missing) and submits the reference solutions, so every kernel runs
every cell. Prints seconds per submission and for the whole batch.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import DEFAULT_COURSE, Course, framework_of
from autograder.grade import grade_assignment
from autograder.kernel import sandbox_available
from autograder.release import release_assignments, solution_submission

FIXTURE_COURSE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "course"


def _copy_course(origin: Path, root: Path) -> Course:
    shutil.copytree(origin / "source", root / "source")
    if (origin / "nbgrader_config.py").exists():
        shutil.copy(origin / "nbgrader_config.py", root / "nbgrader_config.py")
    return Course.open(root)


def _submit(course: Course, student: str, assignment: str, notebook: str) -> None:
    path = course.submission_dir(student, assignment) / f"{notebook}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solution_submission(course.root, assignment, notebook), path)


def _timed(course: Course, assignment: str, students: list[str], workers: int,
           sandbox: bool) -> tuple[float, list]:
    start = time.perf_counter()
    results = grade_assignment(course.root, assignment, students=students, workers=workers,
                               sandbox=sandbox)
    elapsed = time.perf_counter() - start
    for result in results:
        if result.score != result.max_score or result.problems:
            print(f"warning: {result.student} got {result.score:g}/{result.max_score:g} "
                  f"{result.problems}", file=sys.stderr)
    return elapsed, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="tying")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()
    origin = DEFAULT_COURSE if (DEFAULT_COURSE / "source" / args.assignment).is_dir() \
        else FIXTURE_COURSE
    sandbox = sandbox_available() and not args.no_sandbox
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        course = _copy_course(origin, Path(tmp) / "course")
        assignment = course.require_assignment(args.assignment) if origin == DEFAULT_COURSE \
            else course.assignments()[0]
        release_assignments(course.root, [assignment])
        notebooks = course.notebooks(assignment)
        print(f"course {origin}, assignment {assignment}, {os.cpu_count()} cores, "
              f"sandbox {'on' if sandbox else 'off'}, load average "
              f"{os.getloadavg()[0]:.1f}")

        print("\none submission at a time (one kernel, one worker):")
        for notebook in notebooks:
            student = f"single_{framework_of(notebook) or notebook}"
            _submit(course, student, assignment, notebook)
            elapsed, _ = _timed(course, assignment, [student], 1, sandbox)
            print(f"  {notebook:<28} {elapsed:6.1f} s")

        students = [f"student{i:03d}" for i in range(args.batch)]
        for i, student in enumerate(students):
            _submit(course, student, assignment, notebooks[i % len(notebooks)])
        elapsed, _ = _timed(course, assignment, students, args.workers, sandbox)
        print(f"\nbatch of {args.batch} submissions (frameworks in turn), "
              f"{args.workers} workers:")
        print(f"  total {elapsed:6.1f} s, {elapsed / args.batch:.1f} s per submission")


if __name__ == "__main__":
    main()
