"""A test cell's check calls, read without running them: by ``grade`` and by the self-check.

An instructor's test cell is a docstring, ``from pmcheck import <module>`` and calls of
check functions, each naming the learner's function or class: the public tests, then the
hidden ones between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (which
``nbgrader generate_assignment`` removes from the learner's copy). Reading the calls as
data lets ``grade`` draw the trials and judge outside the kernel, and lets a learner's
check run the original public tests even when a test cell was edited.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from pmcheck.question import Question, lookup

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_NOTE = "# hidden tests: they ran on fresh random inputs; their code is not shown"


class TestCellError(ValueError):
    """A test cell that is not a docstring, pmcheck imports and check calls (one line)."""


@dataclass(frozen=True)
class CheckCall:
    """One check-function call of a test cell, e.g. ``tying.check_tied_net(make_tied_net, ...)``."""

    function: str  #: ``module.check_function``
    answer: str  #: the name of the learner's function or class
    framework: str | None
    kwargs: dict[str, Any]

    @property
    def question(self) -> Question:
        return lookup(self.function)[0]

    def specs(self) -> list[dict[str, Any]]:
        """Fresh trials for this call, drawn here."""
        question, variant = lookup(self.function)
        return question.specs(variant, self.framework, **self.kwargs)

    def as_json(self) -> dict[str, Any]:
        """The call as the table of public tests holds it (``exercises.json``), for ``check``."""
        return {
            "check": self.function,
            "answer": self.answer,
            "framework": self.framework,
            "kwargs": self.kwargs,
        }


def parse_checks(source: str, where: str) -> list[CheckCall]:
    """The check calls of a test cell's source; a one-line TestCellError for anything else."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise TestCellError(f"{where}: line {error.lineno}: {error.msg}") from None
    modules: dict[str, str] = {}
    calls = []
    for statement in tree.body:
        line = f"{where}, line {statement.lineno}"
        if (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            continue  # the docstring
        if isinstance(statement, ast.ImportFrom) and statement.module == "pmcheck":
            modules.update({alias.asname or alias.name: alias.name for alias in statement.names})
            continue
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in modules
        ):
            raise TestCellError(
                f"{line}: grading runs only calls of pmcheck functions "
                "in a test cell (its verdict is decided outside the kernel)"
            )
        calls.append(_check_call(call, modules[call.func.value.id], line))
    if not calls:
        raise TestCellError(f"{where}: the test cell calls no check")
    return calls


def _check_call(call: ast.Call, module: str, line: str) -> CheckCall:
    function = f"{module}.{call.func.attr}"
    try:
        lookup(function)
    except KeyError:
        raise TestCellError(f"{line}: pmcheck has no check {function}") from None
    if not call.args or not isinstance(call.args[0], ast.Name):
        raise TestCellError(f"{line}: the first argument of {function} must name the answer")
    try:
        positional = [ast.literal_eval(arg) for arg in call.args[1:]]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except ValueError:
        raise TestCellError(
            f"{line}: the arguments of {function} after the answer must be " "literals"
        ) from None
    if None in kwargs or len(positional) > 1:
        raise TestCellError(f"{line}: pass {function}'s options by name")
    framework = positional[0] if positional else kwargs.pop("framework", None)
    return CheckCall(function, call.args[0].id, framework, kwargs)


def shown_source(source: str) -> str:
    """A test cell's source with its hidden tests replaced by one comment line."""
    lines, hidden, shown = source.splitlines(), False, []
    for line in lines:
        marker = line.strip()
        if marker == HIDDEN_BEGIN:
            hidden = True
            shown.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif marker == HIDDEN_END:
            hidden = False
        elif not hidden:
            shown.append(line)
    return "\n".join(shown)


def public_source(source: str) -> str:
    """A test cell's source without its hidden tests, as nbgrader releases it."""
    lines, hidden, kept = source.splitlines(), False, []
    for line in lines:
        marker = line.strip()
        if marker == HIDDEN_BEGIN:
            hidden = True
        elif marker == HIDDEN_END:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept).strip()
