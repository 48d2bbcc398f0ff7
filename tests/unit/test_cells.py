"""``pmcheck.cells``: a test cell's check calls read as data, and its public and shown text."""

from __future__ import annotations

import pytest

from pmcheck.cells import HIDDEN_BEGIN, HIDDEN_END, HIDDEN_NOTE, CheckCall, parse_checks
from pmcheck.cells import TestCellError as CellError  # not "Test...": pytest would collect it
from pmcheck.cells import public_source, shown_source

CELL = f'''"""Is the gradient that of both uses?"""
from pmcheck import tying

tying.check_tied_grad(tied_weight_grad, "mxnet", w=2.0, x=3.0)
{HIDDEN_BEGIN}
tying.check_tied_grad_random(tied_weight_grad, framework="mxnet", trials=3)
{HIDDEN_END}'''


def test_each_call_is_read_as_its_check_answer_framework_and_options():
    assert parse_checks(CELL, "cell") == [
        CheckCall("tying.check_tied_grad", "tied_weight_grad", "mxnet", {"w": 2.0, "x": 3.0}),
        CheckCall("tying.check_tied_grad_random", "tied_weight_grad", "mxnet", {"trials": 3}),
    ]


def test_a_module_imported_under_another_name_is_still_the_check_module():
    (call,) = parse_checks(
        "from pmcheck import calls as c\n"
        "c.check_calls(square, expected='x * x', inputs=[1, (2, 3)])",
        "cell",
    )
    assert (call.function, call.answer, call.framework) == ("calls.check_calls", "square", None)
    assert call.kwargs == {"expected": "x * x", "inputs": [1, (2, 3)]}


@pytest.mark.parametrize(
    "source, message",
    [
        ("def (:", "where: line 1: invalid syntax"),
        ('"""a docstring only"""', "where: the test cell calls no check"),
        (
            "from pmcheck import calls\nx = 1",
            "where, line 2: grading runs only calls of pmcheck functions in a test cell",
        ),
        ("import pmcheck\npmcheck.calls.check_calls(square)", "where, line 1: grading runs only"),
        (
            "from pmcheck import calls\ncalls.check_nothing(square)",
            "where, line 2: pmcheck has no check calls.check_nothing",
        ),
        (
            "from pmcheck import calls\ncalls.check_calls(lambda x: x, expected='x')",
            "where, line 2: the first argument of calls.check_calls must name the answer",
        ),
        (
            "from pmcheck import calls\ncalls.check_calls(square, expected=EXPECTED)",
            "where, line 2: the arguments of calls.check_calls after the answer must be literals",
        ),
        (
            "from pmcheck import calls\ncalls.check_calls(square, 'mxnet', 'x * x')",
            "where, line 2: pass calls.check_calls's options by name",
        ),
        (
            "from pmcheck import calls\ncalls.check_calls(square, **{'expected': 'x'})",
            "where, line 2: pass calls.check_calls's options by name",
        ),
    ],
)
def test_anything_but_check_calls_is_one_line_naming_where(source, message):
    with pytest.raises(CellError) as error:
        parse_checks(source, "where")
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)
    assert isinstance(error.value, ValueError)


def test_the_public_source_is_what_nbgrader_releases():
    assert public_source(CELL) == (
        '"""Is the gradient that of both uses?"""\nfrom pmcheck import tying\n\n'
        'tying.check_tied_grad(tied_weight_grad, "mxnet", w=2.0, x=3.0)'
    )
    assert public_source("x = 1\n") == "x = 1"


def test_the_shown_source_says_where_hidden_tests_were_at_their_indentation():
    indented = f"if True:\n    a()\n    {HIDDEN_BEGIN}\n    b()\n    {HIDDEN_END}\n    c()"
    assert shown_source(indented) == f"if True:\n    a()\n    {HIDDEN_NOTE}\n    c()"
    assert public_source(indented) == "if True:\n    a()\n    c()"
    assert shown_source("no hidden tests") == "no hidden tests"
