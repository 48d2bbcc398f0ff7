"""The grading process's half of each test cell: draw the trials, probe, judge, record.

An instructor's test cell is a docstring, ``from pmcheck import <module>`` and
calls of check functions, each naming the learner's function or class (public tests, then
the hidden ones between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``). ``grade``
reads those calls here, draws every trial itself, and runs in the kernel only a probe cell
(:mod:`pmcheck.probing`) in the test cell's place. The data that comes back is
judged in this process, which never runs learner code, and the graded notebook then shows
the test cell's public part with the verdict as its only output: never the hidden source,
never a traceback.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode

from pmcheck import cells as _cells
from pmcheck import wire
from pmcheck.cells import CheckCall, shown_source
from pmcheck.probing import MIME
from .course import CourseError
from .notebooks import grade_id, is_auto_test, points

#: ename of the error output that carries a failed verdict, as a failed assert would.
FAILED = "AssertionError"


@dataclass(frozen=True)
class TestCell:
    """An instructor's test cell, read for grading."""

    index: int
    grade_id: str
    points: float
    calls: list[CheckCall]
    shown_source: str  #: the source without its hidden tests, for the graded notebook


@dataclass(frozen=True)
class Verdict:
    grade_id: str
    points: float
    passed: bool
    message: str  #: the judge's plain-words message, "" when passed


def read_test_cells(nb: NotebookNode, notebook: str) -> list[TestCell]:
    """Every auto-graded test cell of an instructor's notebook, read into check calls.

    Raises :class:`CourseError` for a test cell that is anything else: grading decides
    every verdict outside the kernel, and can do that only for the course's checks.
    """
    cells = []
    for index, cell in enumerate(nb.cells):
        if is_auto_test(cell):
            where = f"{notebook}.ipynb, test cell {grade_id(cell)}"
            cells.append(
                TestCell(
                    index,
                    grade_id(cell),
                    points(cell),
                    parse_checks(cell.source, where),
                    shown_source(cell.source),
                )
            )
    return cells


def parse_checks(source: str, where: str) -> list[CheckCall]:
    """The check calls of a test cell's source; a one-line CourseError for anything else."""
    try:
        return _cells.parse_checks(source, where)
    except _cells.TestCellError as error:
        raise CourseError(str(error)) from None


@dataclass
class ProbePlan:
    """One submission's notebook with probe cells in place of the test cells, and its trials."""

    notebook: NotebookNode
    cells: list[TestCell]
    nonces: dict[int, str] = field(default_factory=dict)  #: cell index -> nonce
    requests: dict[int, list[tuple[CheckCall, dict]]] = field(default_factory=dict)

    def judge(self, executed: NotebookNode, payloads: dict[int, list[Any]]) -> list[Verdict]:
        """Each test cell's verdict from the data its probe cell sent (first failure counts)."""
        verdicts = []
        for cell in self.cells:
            message = self._first_failure(
                cell, executed.cells[cell.index], payloads.get(cell.index, [])
            )
            verdicts.append(Verdict(cell.grade_id, cell.points, message is None, message or ""))
        return verdicts

    def _first_failure(
        self, cell: TestCell, executed: NotebookNode, payloads: list[Any]
    ) -> str | None:
        received = _received(payloads, self.nonces[cell.index])
        for k, (call, spec) in enumerate(self.requests[cell.index]):
            if k not in received:
                return _why_no_data(executed)
            try:
                data = wire.loads(received[k])
            except wire.WireError:
                data = None
            message = call.question.verdict(call.framework, spec, data)
            if message is not None:
                return message
        return None

    def graded_notebook(self, executed: NotebookNode, verdicts: list[Verdict]) -> NotebookNode:
        """What ``autograded/`` keeps: each test cell's public part and its verdict only.

        ``executed`` is changed in place and returned.
        """
        graded = executed
        for cell, verdict in zip(self.cells, verdicts):
            shown = graded.cells[cell.index]
            shown.source = cell.shown_source
            shown.outputs = (
                []
                if verdict.passed
                else [
                    nbformat.v4.new_output(
                        "error", ename=FAILED, evalue=verdict.message, traceback=[verdict.message]
                    )
                ]
            )
        return graded


def plan_probes(nb: NotebookNode, cells: list[TestCell]) -> ProbePlan:
    """``nb``, changed in place: each test cell replaced by a probe cell on fresh trials."""
    plan = ProbePlan(nb, cells)
    for cell in cells:
        nonce = secrets.token_hex(16)
        requests = [(call, spec) for call in cell.calls for spec in call.specs()]
        plan.nonces[cell.index] = nonce
        plan.requests[cell.index] = requests
        sent = wire.dumps(
            [
                {
                    "check": call.function,
                    "answer": call.answer,
                    "framework": call.framework,
                    "spec": spec,
                }
                for call, spec in requests
            ]
        )
        nb.cells[cell.index].source = (
            '__import__("pmcheck.probing", fromlist=["probe_cell"]).probe_cell(\n'
            f"    {nonce!r}, {sent!r}, globals())"
        )
    return plan


def _received(payloads: list[Any], nonce: str) -> dict[int, str]:
    """The data of each request index, from the first payload that carries the cell's nonce."""
    received: dict[int, str] = {}
    for payload in payloads:
        if isinstance(payload, dict) and payload.get("nonce") == nonce:
            index, data = payload.get("index"), payload.get("data")
            if isinstance(index, int) and isinstance(data, str) and index not in received:
                received[index] = data
    return received


def _why_no_data(executed: NotebookNode) -> str:
    """Why a probe cell sent nothing: its error (the kernel stopped, a timeout, ...)."""
    for output in executed.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
            return f"the check did not finish: {text[:500]}".rstrip(": ")
    return "the check did not finish: no data came back from the kernel"


def probe_payload(output_content: dict[str, Any]) -> Any:
    """The probe payload in a display_data message's content, or None."""
    data = output_content.get("data")
    return data.get(MIME) if isinstance(data, dict) else None
