"""``check``: the learner's self-check of one notebook, with no instructor files needed.

It runs the notebook as it is in a fresh kernel (through the same seam as grading),
then reads each test cell's verdict the way nbgrader scores it. A released notebook
carries only the public tests; hidden tests run when the notebook is graded.
"""
from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import CourseError
from .execute import run_notebook
from .kernel import Limits, Scratch
from .notebooks import (failure_message, grade_id, is_auto_test, is_manual, nbgrader_meta,
                        points, read_notebook)


@dataclass(frozen=True)
class CheckedQuestion:
    grade_id: str
    points: float
    passed: bool | None  #: None for a question graded by hand
    message: str  #: why it failed, in the check's words; "" otherwise


@dataclass(frozen=True)
class CheckResult:
    notebook: Path
    questions: list[CheckedQuestion]
    problems: list[str] = field(default_factory=list)  #: the run went wrong
    notes: list[str] = field(default_factory=list)  #: worth knowing, changes no verdict

    @property
    def all_passed(self) -> bool:
        return not self.problems and all(q.passed is not False for q in self.questions)


def check_notebook(path: Path | str, *, limits: Limits | None = None) -> CheckResult:
    """Run the notebook at ``path`` and report each question as passed or failed."""
    path = Path(path)
    nb = read_notebook(path)
    notes = [f"test cell {grade_id(cell)} was changed; grading uses the original"
             for cell in nb.cells if _edited_test(cell)]
    if not any(is_auto_test(cell) or is_manual(cell) for cell in nb.cells):
        raise CourseError(f"{path.name} has no nbgrader questions to check")
    limits = limits or Limits(threads=os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        # the kernel works in the notebook's folder, as it would in Jupyter
        scratch = Scratch(work=path.resolve().parent, run=Path(tmp))
        execution = asyncio.run(run_notebook(nb, scratch, limits, isolate_home=False))
    return CheckResult(path, [_verdict(cell) for cell in execution.notebook.cells
                              if is_auto_test(cell) or is_manual(cell)],
                       execution.problems, notes)


def _verdict(cell) -> CheckedQuestion:
    from nbgrader.utils import determine_grade

    if is_manual(cell):
        return CheckedQuestion(grade_id(cell), points(cell), None, "")
    score, max_score = determine_grade(cell)
    passed = float(score or 0) >= max_score
    return CheckedQuestion(grade_id(cell), max_score, passed,
                           "" if passed else failure_message(cell))


def _edited_test(cell) -> bool:
    from nbgrader.utils import compute_checksum

    meta = nbgrader_meta(cell)
    if not (meta.get("locked") and meta.get("checksum") and is_auto_test(cell)):
        return False
    return compute_checksum(cell) != meta["checksum"]


def format_report(result: CheckResult) -> str:
    """The plain-text report ``python -m autograder check`` prints."""
    lines = [f"Checking {result.notebook.name} (public tests; hidden tests run when it is "
             "graded)", ""]
    width = max((len(q.grade_id) for q in result.questions), default=0)
    for q in result.questions:
        if q.passed is None:
            lines.append(f"  by hand  {q.grade_id:<{width}}  {_points(q.points)}, "
                         "graded by your instructor")
        elif q.passed:
            lines.append(f"  passed   {q.grade_id:<{width}}  {_points(q.points)}")
        else:
            message = q.message.replace("\n", "\n" + " " * (width + 13))
            lines.append(f"  FAILED   {q.grade_id:<{width}}  0 of {_points(q.points)}: {message}")
    auto = [q for q in result.questions if q.passed is not None]
    earned = sum(q.points for q in auto if q.passed)
    lines += ["", f"Public tests: {earned:g} of {_points(sum(q.points for q in auto))} passed."]
    lines += [f"Problem: {problem}" for problem in result.problems]
    lines += [f"Note: {note}" for note in result.notes]
    return "\n".join(lines)


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")
