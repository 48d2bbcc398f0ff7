"""The command line: thin wrappers over release, grade, feedback, export and check."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .course import DEFAULT_COURSE, Course, CourseError
from .kernel import Limits
from .notebooks import read_notebook


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Release, grade, give feedback on and export the course's assignments "
                    "(around nbgrader), and let learners check their notebooks.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    def with_course(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--course", type=Path, default=DEFAULT_COURSE, metavar="DIR",
                         help="the nbgrader course folder (default: the repository's "
                              "exercises/)")
        return sub

    release = with_course(verbs.add_parser(
        "release", help="write the student versions (no solutions, no hidden tests)"))
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                         help="assignments to release (default: all)")

    grade = with_course(verbs.add_parser(
        "grade", help="grade every submission of an assignment"))
    grade.add_argument("assignment", metavar="ASSIGNMENT")
    grade.add_argument("--workers", type=int, default=None, metavar="N",
                       help="notebooks graded at once (default: two per core with the warm "
                            "kernel factory, else one per core)")
    grade.add_argument("--student", action="append", dest="students", metavar="ID",
                       help="grade only this student (repeatable)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run the kernels without the sandbox (only for submissions you "
                            "trust: a hostile notebook could then reach this machine)")
    grade.add_argument("--cell-timeout", type=float, default=None, metavar="SECONDS",
                       help="interrupt a cell after this long (default: the course's "
                       f"c.Execute.timeout, else {Limits.cell_timeout:g})")

    feedback = with_course(verbs.add_parser(
        "feedback", help="write HTML feedback for every graded student"))
    feedback.add_argument("assignment", metavar="ASSIGNMENT")

    export = with_course(verbs.add_parser(
        "export", help="write a CSV of grades (nbgrader's columns and the fair score)"))
    export.add_argument("--to", type=Path, default=None, metavar="FILE",
                        help="where to write the CSV (default: DIR/grades.csv)")

    check = verbs.add_parser(
        "check", help="run a notebook's public tests and say what passed")
    check.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except CourseError as error:
        print(f"autograder: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    # Bad input is caught before the verb's modules load: they take seconds to import.
    if args.verb == "check":
        read_notebook(args.notebook)
    else:
        course = Course.open(args.course)
        for assignment in getattr(args, "assignments", None) or [getattr(args, "assignment", None)]:
            if assignment is not None:
                course.require_assignment(assignment)
    if args.verb == "release":
        from .release import release_assignments

        for path in release_assignments(args.course, args.assignments or None):
            print(path)
        return 0
    if args.verb == "grade":
        from .grade import format_table, grade_assignment

        if args.workers is not None and args.workers < 1:
            raise CourseError("--workers must be at least 1")
        limits = None
        if args.cell_timeout is not None:
            if args.cell_timeout <= 0:
                raise CourseError("--cell-timeout must be positive")
            limits = Limits(cell_timeout=args.cell_timeout)
        results = grade_assignment(args.course, args.assignment, students=args.students,
                                   workers=args.workers, progress=True, limits=limits,
                                   sandbox=False if args.no_sandbox else None)
        if not results:
            print(f"no submissions of {args.assignment!r} in {args.course / 'submitted'}",
                  file=sys.stderr)
            return 0
        print(format_table(results))
        print("\nScores are automatic points of the notebook that counts (the best one "
              "handed in);\nanswers graded by hand are added in formgrader and appear in "
              "export.")
        return 0
    if args.verb == "feedback":
        from .feedback import generate_feedback

        for path in generate_feedback(args.course, args.assignment):
            print(path.parent)
        return 0
    if args.verb == "export":
        from .export import export_grades

        print(export_grades(args.course, args.to))
        return 0
    if args.verb == "check":
        from .check import check_notebook, format_report

        result = check_notebook(args.notebook)
        print(format_report(result))
        return 0 if result.all_passed else 1
    raise AssertionError(f"unhandled command {args.verb}")
