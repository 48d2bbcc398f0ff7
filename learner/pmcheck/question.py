"""Questions checked in two halves: a probe that runs the learner's code, a judge that decides.

Anything that runs in the learner's kernel can be patched from there -- the checks, numpy,
IPython's hooks -- so no verdict is reached there when a notebook is graded. A question is:

- its **specs**: the inputs of one trial (sizes, random values, a seed), drawn by whoever
  judges: the grading process for ``grade``, the kernel itself for a learner's check;
- a **probe**, run in the learner's kernel: it calls the learner's function or class on a
  spec's inputs and reports what it saw as plain data (numbers, lists, arrays);
- a **judge**, run anywhere and in ``grade`` only in the grading process: it computes the
  truth from the spec on its own and compares, returning a plain-words message on failure.

Every probe's data travels as size-capped JSON (:mod:`pmcheck.wire`), in the
notebook's own check as well, so the learner's check and ``grade`` see the same data and say
the same words. Wherever the truth is a property of live objects in the learner's kernel,
the probe's report is checked against values only the spec knows (a random value written
through one name and read back through another, a forward pass on a random input
recomputed from the reported weights), so a patched probe can earn a point only by
producing the right data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmcheck import wire
from pmcheck.common import describe, quiet

#: Longest failure message kept: a learner's exception text can be as long as they like.
MAX_MESSAGE = 2000

#: Every question of every check module, by its key (e.g. ``"tying.tied_net"``).
QUESTIONS: dict[str, Question] = {}
#: Every check function a test cell may call, by ``module.function`` (e.g.
#: ``"tying.check_tied_net"``): the question and whether it takes public or random specs.
CHECK_FUNCTIONS: dict[str, tuple[Question, str]] = {}

Spec = dict[str, Any]
Data = dict[str, Any]


class CheckFailed(AssertionError):
    """A test cell's failed check. A notebook shows its message alone: the traceback would
    run through this package, which tells the learner nothing about their answer."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for the traceback shown
        return [f"\x1b[0;31mCheck failed\x1b[0m: {self}"]


class MalformedData(Exception):
    """What came back from the kernel is not what the probe sends."""


@dataclass
class Question:
    """One kind of check: how to draw its trials, probe the answer and judge the data."""

    key: str  #: ``module.name``, e.g. ``"tying.tied_net"``
    probe: Callable[[Any, str, Spec], Data]
    judge: Callable[[str, Spec, Data], str | None]
    _specs: dict[str, Callable[..., list[Spec]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        QUESTIONS[self.key] = self

    @property
    def module(self) -> str:
        return self.key.split(".", 1)[0]

    def specs(self, variant: str, framework: str | None, **kwargs: Any) -> list[Spec]:
        """The trials of one check call: ``variant`` is "public" or "random"."""
        return self._specs[variant](framework, **kwargs)

    def check_function(
        self, name: str, variant: str, make_specs: Callable[..., list[Spec]]
    ) -> Callable[..., None]:
        """The function a test cell calls: ``name(answer, framework, **kwargs)``.

        It draws the trials, runs each probe here and judges its data at once, raising
        ``AssertionError`` with the judge's message at the first failure -- the notebook's
        own check and stock ``nbgrader autograde`` work this way. ``grade`` instead reads
        the same call from the instructor's test cell and splits the halves.
        """
        self._specs[variant] = make_specs
        question = self

        @functools.wraps(make_specs)
        def check(answer: Any, framework: str | None = None, **kwargs: Any) -> None:
            for spec in question.specs(variant, framework, **kwargs):
                spec = wire.loads(wire.dumps(spec))
                data = wire.loads(wire.dumps(question.run_probe(answer, framework, spec)))
                message = question.verdict(framework, spec, data)
                if message is not None:
                    raise CheckFailed(message)

        check.__name__ = check.__qualname__ = name
        check.__doc__ = make_specs.__doc__
        CHECK_FUNCTIONS[f"{self.module}.{name}"] = (self, variant)
        return check

    def run_probe(self, answer: Any, framework: str | None, spec: Spec) -> Data:
        """The probe's data, or ``{"failed": message}`` when the answer failed while probed.

        A probe may fail an answer (an exception, a value of the wrong type): that only
        ever costs the learner points, so it is safe to decide in the kernel. It never
        passes one: only the judge does.
        """
        try:
            with quiet():
                return self.probe(answer, framework, spec)
        except AssertionError as failure:
            return {"failed": _clip(str(failure))}
        except Exception as error:  # noqa: BLE001 - the learner's objects may break anything
            return {
                "failed": _clip(f"the check could not run on your answer: " f"{describe(error)}")
            }

    def verdict(self, framework: str | None, spec: Spec, data: Any) -> str | None:
        """The judge's message for ``data`` (None: passed); malformed data fails."""
        if not isinstance(data, dict):
            return MALFORMED
        if "failed" in data:
            return _clip(str(data["failed"]))
        try:
            message = self.judge(framework, spec, data)
        except (MalformedData, KeyError, IndexError, TypeError, ValueError, AttributeError):
            return MALFORMED
        return None if message is None else _clip(message)


MALFORMED = (
    "the check could not read what your answer produced (malformed data): was "
    "something in the notebook changed that the check relies on?"
)


def _clip(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def require(condition: bool) -> None:
    """Stop judging data that does not have the form the probe sends."""
    if not condition:
        raise MalformedData


def lookup(name: str) -> tuple[Question, str]:
    """The question and variant behind ``module.check_function``, importing its module."""
    module = name.split(".", 1)[0]
    if name not in CHECK_FUNCTIONS and module.isidentifier():
        import importlib

        try:
            importlib.import_module(f"pmcheck.{module}")
        except ImportError:
            pass
    if name not in CHECK_FUNCTIONS:
        raise KeyError(name)
    return CHECK_FUNCTIONS[name]
