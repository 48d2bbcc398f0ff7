"""Checks for questions whose answer is a plain function of numbers: ``square(x) == x * x``.

The instructor writes the expected value as a Python expression of the arguments ``x``,
``y`` and ``z`` (for instance ``"x * x"``) in the test cell; the judge evaluates it on its
own, without builtins, so the truth never comes from the learner's kernel::

    from pmcheck import calls
    calls.check_calls(square, expected="x * x", inputs=[3])
    ### BEGIN HIDDEN TESTS
    calls.check_calls_random(square, expected="x * x", low=-1000, high=1000, trials=3)
    ### END HIDDEN TESTS
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pmcheck.common import call, rng
from pmcheck.question import Question, Spec, require

#: The names an expected-value expression may use for the first, second and third argument.
ARGUMENTS = ("x", "y", "z")
#: Plain values a function may return; anything else is shown by its type.
PLAIN = (int, float, str, bool, type(None))


def _specs(framework: str | None, *, expected: str, inputs: Sequence[Any]) -> list[Spec]:
    """The function gives ``expected`` (an expression of x, y, z) on each of ``inputs``."""
    return [
        {"expected": expected, "args": list(args) if isinstance(args, (list, tuple)) else [args]}
        for args in inputs
    ]


def _random_specs(
    framework: str | None,
    *,
    expected: str,
    low: int = -100,
    high: int = 100,
    trials: int = 3,
    arity: int = 1,
) -> list[Spec]:
    """``check_calls`` on ``trials`` tuples of random integers in [low, high]."""
    gen = rng()
    return [
        {
            "expected": expected,
            "args": [int(v) for v in gen.integers(low, high, size=arity, endpoint=True)],
        }
        for _ in range(trials)
    ]


def _probe(fn: Any, framework: str | None, spec: Spec) -> dict:
    name = getattr(fn, "__name__", "")
    value = call(fn, *spec["args"])
    plain = isinstance(value, PLAIN) and not (isinstance(value, str) and len(value) > 200)
    return {
        "name": name if isinstance(name, str) and name.isidentifier() else "",
        "value": value if plain else None,
        "type": type(value).__name__,
    }


def _judge(framework: str | None, spec: Spec, data: dict) -> str | None:
    args = spec["args"]
    truth = eval(
        spec["expected"],
        {"__builtins__": {}},  # noqa: S307 - the instructor's text
        dict(zip(ARGUMENTS, args)),
    )
    name, got = data["name"], data["value"]
    require(isinstance(name, str) and (name == "" or name.isidentifier()) and len(name) <= 60)
    name = name or "your function"
    shown = ", ".join(repr(a) for a in args)
    if data["type"] != type(got).__name__:
        return f"{name}({shown}) should be {truth!r}; got a {data['type']}"
    if (
        type(got) is type(truth)
        and got == truth
        or (
            isinstance(got, (int, float))
            and not isinstance(got, bool)
            and isinstance(truth, (int, float))
            and got == truth
        )
    ):
        return None
    return f"{name}({shown}) should be {truth!r}; got {got!r}"


CALLS = Question("calls.calls", _probe, _judge)
check_calls = CALLS.check_function("check_calls", "public", _specs)
check_calls_random = CALLS.check_function("check_calls_random", "random", _random_specs)
