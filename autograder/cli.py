"""The command line: thin wrappers over sources, release, grade, feedback, export and check.

Like nbgrader's own commands, every instructor command works on the course in the current
folder when it holds ``nbgrader_config.py``; ``--course DIR`` names another one, and
without either it is the repository's ``exercises/``. Input is checked here, before the
verb's modules load: they take seconds to import.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import DEFAULT_COURSE, Course, CourseError


def find_course(given: Path | None) -> Course:
    """The course a command acts on: ``--course``, else the current folder, else ours."""
    if given is not None:
        return Course.open(given)
    here = Path.cwd()
    if (here / "nbgrader_config.py").is_file():
        return Course.open(here)
    return Course.open(DEFAULT_COURSE)


# -- the verbs ---------------------------------------------------------------------------
def sources(args: argparse.Namespace) -> int:
    from .sources import TABLE, write_sources

    # the learner's package ships the table of the repository's own course
    ours = args.course.root.resolve() == DEFAULT_COURSE.resolve()
    written = write_sources(args.course.root, TABLE if ours else None)
    for path in written:
        print(path)
    if not written:
        print(f"the notebooks in {args.course.source} already match the exercise sources")
    return 0


def release(args: argparse.Namespace) -> int:
    from .release import release_assignments

    for path in release_assignments(args.course.root, args.names or None):
        print(path)
    return 0


def grade(args: argparse.Namespace) -> int:
    from .grade import format_table, grade_assignment
    from .kernel import Limits

    limits = Limits(cell_timeout=args.cell_timeout) if args.cell_timeout else None
    results = grade_assignment(
        args.course.root,
        args.name,
        students=args.students,
        workers=args.workers,
        progress=True,
        limits=limits,
        sandbox=False if args.no_sandbox else None,
        warm=not args.cold,
        release=args.release,
        scheduler=args.scheduler,
    )
    if not results:
        print(f"nothing handed in for {args.name!r} in {args.course.submitted}", file=sys.stderr)
        return 0
    print(f"{args.course.root}: {args.name}\n")
    print(format_table(results))
    print(
        "\nScores are automatic points of the notebook that counts (the best one handed "
        "in);\nanswers graded by hand are added in formgrader and appear in export."
    )
    return 0


def feedback(args: argparse.Namespace) -> int:
    from .feedback import generate_feedback

    for path in generate_feedback(args.course.root, args.name):
        print(path)
    return 0


def export(args: argparse.Namespace) -> int:
    from .export import export_grades

    print(export_grades(args.course.root, args.to))
    return 0


def check(args: argparse.Namespace) -> int:
    from pmcheck.cli import main as pmcheck_main

    return pmcheck_main([str(args.notebook)])


def factory(args: argparse.Namespace) -> int:
    from . import service

    try:
        if args.action == "start":
            found = service.start(idle=args.idle_minutes * 60)
        elif args.action == "stop":
            stopped = service.stop()
            print(f"stopped {len(stopped)} kernel service factories" if stopped else "none ran")
            return 0
        else:
            found = service.running()
    except service.ServiceError as error:
        print(f"autograder: error: {error}", file=sys.stderr)
        return 1
    if not found:
        print("no kernel service runs: each grade starts factories of its own")
    for entry in found:
        state = (
            "stale socket (its factory died)"
            if entry.pid is None
            else f"pid {entry.pid}, {'serves' if entry.current else 'unused: older code of'} "
            "this checkout"
        )
        print(f"{entry.frameworks:<12} {state}  {entry.path}")
    return 0


# -- the parser --------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def parser() -> argparse.ArgumentParser:
    # the console script (pyproject.toml) or ``python -m autograder``
    named = os.path.basename(sys.argv[0]) == "autograder"
    top = argparse.ArgumentParser(
        prog="autograder" if named else "python -m autograder",
        description="Make, release, grade, give feedback on and export the course's exercises "
        "(around nbgrader), and check a notebook as a learner would. Instructor "
        "commands act on the course in the current folder when it holds "
        "nbgrader_config.py, else on --course, else on the repository's "
        "exercises/.",
    )
    verbs = top.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    def verb(name: str, func, summary: str, description: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=summary, description=description)
        sub.set_defaults(func=func)
        if func not in (check, factory):
            sub.add_argument(
                "--course",
                type=Path,
                default=None,
                metavar="DIR",
                help="the nbgrader course folder (default: the current folder "
                "if it holds nbgrader_config.py, else the repository's "
                "exercises/)",
            )
        return sub

    verb(
        "sources",
        sources,
        "make the nbgrader source notebooks from the exercise sources",
        "Write source/<exercise>_<framework>/<exercise>_<framework>.ipynb from each "
        "exercises/<exercise>.md (one MyST source per exercise, framework-tagged cells).",
    )

    sub = verb(
        "release",
        release,
        "write the student versions (no solutions, no hidden " "tests)",
        "Run nbgrader's generate_assignment on each assignment, recording "
        "its test cells in the gradebook; the student notebooks go to release/.",
    )
    sub.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="exercises (every framework) or assignments (default: all)",
    )

    sub = verb(
        "grade",
        grade,
        "grade every hand-in of an exercise or assignment",
        "Grade submitted/<student>/<assignment>/ for every student: each notebook in "
        "a fresh sandboxed kernel, every verdict decided outside it; the gradebook "
        "and autograded/ are written as nbgrader autograde would.",
    )
    sub.add_argument(
        "name",
        metavar="NAME",
        help="an exercise (e.g. tying: every framework, the best counts) or one "
        "assignment (e.g. tying_mxnet)",
    )
    sub.add_argument(
        "--student",
        action="append",
        dest="students",
        metavar="ID",
        help="grade only this student (repeatable)",
    )
    sub.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="notebooks graded at once (default: three per core with the warm "
        "kernel factory, else one per core)",
    )
    sub.add_argument(
        "--cell-timeout",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="interrupt a cell after this long (default: the course's "
        "c.Execute.timeout, else 120)",
    )
    sub.add_argument(
        "--release",
        action="store_true",
        help="release again an assignment whose source changed since its "
        "release (new checksums mid-course: only if you mean it)",
    )
    sub.add_argument(
        "--cold",
        action="store_true",
        help="start every kernel afresh instead of forking it from the warm "
        "kernel factory (slower; the same sandbox)",
    )
    sub.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on the Dask cluster of this scheduler (e.g. "
        "tcp://HOST:8786), each notebook a task on a worker's own warm "
        "kernels; this process still writes the gradebook",
    )
    sub.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the kernels without the sandbox (only for submissions you "
        "trust: a hostile notebook could then reach this machine)",
    )

    sub = verb(
        "feedback",
        feedback,
        "write HTML feedback for every graded student",
        "Run nbgrader's generate_feedback, then write feedback/<student>/<exercise>.html "
        "with each question, its points and the check's message.",
    )
    sub.add_argument("name", metavar="NAME", help="an exercise or one assignment")

    sub = verb(
        "export",
        export,
        "write a CSV of grades, one row per student and exercise",
        "Write each student's score for each exercise: the framework that counts, its "
        "score with hand-graded points and the late penalty, out of its maximum.",
    )
    sub.add_argument(
        "--to",
        type=Path,
        default=None,
        metavar="FILE",
        help="where to write the CSV (default: DIR/grades.csv)",
    )

    sub = verb(
        "check",
        check,
        "check a notebook's public tests, as a learner would",
        "The learner's self-check (pmcheck): run the saved notebook in a fresh kernel "
        "with its public tests and say, question by question, what passed.",
    )
    sub.add_argument("notebook", type=Path, metavar="NOTEBOOK")

    sub = verb(
        "factory",
        factory,
        "start, stop or show the kernel service (warm factories that outlive a run)",
        "start: one warm kernel factory per framework, in the background, for every later "
        "grade of this user and this code, so that none of them imports a framework; "
        "each kernel is still a fresh fork in its own sandbox. stop: end them (and any "
        "kernel they run). status: what runs. The sockets are in AUTOGRADER_RUNTIME_DIR, "
        "else /tmp/autograder-UID (mode 700).",
    )
    sub.add_argument("action", choices=("start", "stop", "status"))
    sub.add_argument(
        "--idle-minutes",
        type=_positive_float,
        default=60,
        metavar="M",
        help="start: exit after this long with no grade connected (default: 60)",
    )
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.func not in (check, factory):
            args.course = find_course(args.course)
            for name in getattr(args, "names", None) or [getattr(args, "name", None)]:
                if name is not None:
                    args.course.resolve(name)
        return args.func(args)
    except CourseError as error:
        print(f"autograder: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted", file=sys.stderr)
        return 130
