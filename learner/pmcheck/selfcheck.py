"""The learner's self-check: every public test of a notebook, run on the answers in a kernel.

``check("tying_mxnet")`` in the notebook's last cell runs here, in the live kernel, in well
under a second once the answers are defined: the functions and classes are taken from the
kernel's namespace, and the public tests from the table of exercises this package ships
(``exercises.json``, made from the course's sources by ``python -m autograder sources``).
Because the tests come from the table, an edited or deleted test cell changes nothing:
this check, like grading, runs the original ones. ``pmcheck NOTEBOOK`` (:mod:`pmcheck.cli`)
runs the same function in a fresh kernel on the saved file.

Each question gets a time limit: an answer that loops forever is stopped, said once, and
not called again.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from pmcheck import wire
from pmcheck.question import lookup

#: Seconds one question's public tests may take in all before they are stopped.
QUESTION_SECONDS = 20.0


@dataclass(frozen=True)
class Outcome:
    """One question's result in the self-check."""

    grade_id: str
    points: float
    status: str  #: "passed", "failed" or "manual" (graded by hand)
    message: str = ""
    missing: str = ""  #: the answer's name when it was not defined in the kernel


class Timeout(BaseException):
    """A question ran past its time (a BaseException: answers catch Exception)."""


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """Every notebook of the course: its exercise, framework, questions and public tests."""
    text = resources.files("pmcheck").joinpath("exercises.json").read_text(encoding="utf-8")
    return json.loads(text)["notebooks"]


def entry(notebook: str) -> dict[str, Any]:
    """The table's entry for ``notebook`` (``tying_mxnet``, with or without ``.ipynb``)."""
    name = notebook[:-6] if notebook.endswith(".ipynb") else notebook
    known = table()
    if name not in known:
        raise LookupError(
            f"pmcheck does not know the notebook {name!r}; it knows " f"{', '.join(sorted(known))}"
        )
    return known[name]


def run(
    questions: list[dict[str, Any]], namespace: dict[str, Any], seconds: float = QUESTION_SECONDS
) -> list[Outcome]:
    """Each question's outcome, its public check calls run on the answers in ``namespace``."""
    outcomes = []
    timed_out: set[str] = set()
    for question in questions:
        if question.get("manual"):
            outcomes.append(Outcome(question["grade_id"], question["points"], "manual"))
            continue
        outcomes.append(_run_question(question, namespace, seconds, timed_out))
    return outcomes


def _run_question(
    question: dict[str, Any], namespace: dict[str, Any], seconds: float, timed_out: set[str]
) -> Outcome:
    grade_id, points = question["grade_id"], question["points"]
    if not question["calls"]:
        return Outcome(
            grade_id, points, "passed", "no public tests: only hidden ones, " "when it is graded"
        )
    for call in question["calls"]:
        name = call["answer"]
        if name not in namespace:
            return Outcome(
                grade_id,
                points,
                "failed",
                f"{name} is not defined: run its "
                "answer cell (if it stops with an error, fix that first)",
                missing=name,
            )
        if name in timed_out:
            return Outcome(
                grade_id,
                points,
                "failed",
                f"not checked: {name} already ran " f"past {seconds:g} s in an earlier question",
            )
        check, variant = lookup(call["check"])
        try:
            with _time_limit(seconds):
                for spec in check.specs(variant, call["framework"], **call["kwargs"]):
                    spec = wire.loads(wire.dumps(spec))
                    data = check.run_probe(namespace[name], call["framework"], spec)
                    try:
                        data = wire.loads(wire.dumps(data))
                    except (wire.WireError, ValueError, RecursionError):
                        data = {"failed": "the check could not send what your answer " "returned"}
                    message = check.verdict(call["framework"], spec, data)
                    if message is not None:
                        return Outcome(grade_id, points, "failed", message)
        except Timeout:
            timed_out.add(name)
            return Outcome(
                grade_id,
                points,
                "failed",
                f"{name} ran past {seconds:g} s and " "was stopped: does it loop forever?",
            )
    return Outcome(grade_id, points, "passed")


@contextmanager
def _time_limit(seconds: float):
    """Raise :class:`Timeout` in this thread after ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(signum, frame):
        raise Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def report(outcomes: list[Outcome], title: str) -> str:
    """The plain-text report, the same in the notebook and in the terminal."""
    lines = [title, ""]
    width = max((len(o.grade_id) for o in outcomes), default=0)
    indent = " " * (width + 13)
    for o in outcomes:
        if o.status == "manual":
            lines.append(
                f"  by hand  {o.grade_id:<{width}}  {_points(o.points)}, graded by "
                "your instructor"
            )
        elif o.status == "passed":
            note = f" ({o.message})" if o.message else ""
            lines.append(f"  passed   {o.grade_id:<{width}}  {_points(o.points)}{note}")
        else:
            message = o.message.replace("\n", "\n" + indent)
            lines.append(
                f"  FAILED   {o.grade_id:<{width}}  0 of {_points(o.points)}: " f"{message}"
            )
    auto = [o for o in outcomes if o.status != "manual"]
    earned = sum(o.points for o in auto if o.status == "passed")
    lines += ["", f"Public tests: {earned:g} of {_points(sum(o.points for o in auto))} " "passed."]
    return "\n".join(lines)


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


class Report:
    """What ``check`` returns: shown as the plain-text report in the notebook."""

    def __init__(self, outcomes: list[Outcome], text: str) -> None:
        self.outcomes = outcomes
        self.text = text

    @property
    def all_passed(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes)

    def __repr__(self) -> str:
        return self.text


def check(notebook: str, namespace: dict[str, Any] | None = None) -> Report:
    """Run every public test of ``notebook`` on the answers defined in this kernel."""
    if namespace is None:
        namespace = _kernel_namespace()
    found = entry(notebook)
    started = time.monotonic()
    outcomes = run(found["questions"], namespace)
    title = (
        f"Checking {found['notebook']} in this kernel (public tests; hidden tests run "
        f"when it is graded) in {time.monotonic() - started:.1f} s"
    )
    text = report(outcomes, title) + (
        "\n\nThis checked the answers as they are defined in this kernel now. Grading runs "
        "the saved\nnotebook from the top: save it, and run Kernel > Restart & Run All once "
        "before you hand it in."
    )
    return Report(outcomes, text)


def run_json(
    notebook: str | None,
    questions: list[dict[str, Any]] | None = None,
    namespace: dict[str, Any] | None = None,
) -> str:
    """:func:`run` as JSON, for the command line (which runs it in a fresh kernel)."""
    if namespace is None:
        namespace = _kernel_namespace()
    if questions is None:
        questions = entry(notebook)["questions"]
    return json.dumps([asdict(o) for o in run(questions, namespace)])


def _kernel_namespace() -> dict[str, Any]:
    """The namespace the learner's cells run in: IPython's, else the caller's globals."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        return shell.user_ns
    return sys._getframe(3).f_globals
