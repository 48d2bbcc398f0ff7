"""Does the grading side read test cells, plan probes and judge their data as it should?

Pure functions on tiny in-memory notebooks: no kernel, no framework.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from pmcheck import calls, wire
from pmcheck.question import MALFORMED
from autograder.course import CourseError
from autograder.judging import parse_checks, plan_probes, read_test_cells
from pmcheck.cells import HIDDEN_NOTE, shown_source

SQUARE_TEST = '''"""Does square() return x * x?"""
from pmcheck import calls

calls.check_calls(square, expected="x * x", inputs=[3])
### BEGIN HIDDEN TESTS
calls.check_calls_random(square, expected="x * x", low=-9, high=9, trials=2)
### END HIDDEN TESTS'''


def notebook(test_source: str = SQUARE_TEST) -> nbformat.NotebookNode:
    meta = {
        "nbgrader": {
            "grade": True,
            "grade_id": "square_ok",
            "points": 2,
            "locked": True,
            "solution": False,
            "schema_version": 3,
        }
    }
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("def square(x):\n    return x * x"),
            nbformat.v4.new_code_cell(test_source, metadata=meta),
        ]
    )


def test_check_calls_are_read_with_their_options():
    public, hidden = parse_checks(SQUARE_TEST, "t")
    assert (public.function, public.answer, public.framework) == (
        "calls.check_calls",
        "square",
        None,
    )
    assert public.kwargs == {"expected": "x * x", "inputs": [3]}
    assert hidden.kwargs == {"expected": "x * x", "low": -9, "high": 9, "trials": 2}


def test_framework_is_taken_by_name_or_position():
    source = (
        "from pmcheck import tying\n"
        'tying.check_tied_grad(f, "mxnet", w=2.0)\n'
        'tying.check_tied_grad(f, framework="mindspore")'
    )
    assert [c.framework for c in parse_checks(source, "t")] == ["mxnet", "mindspore"]


@pytest.mark.parametrize(
    "source, words",
    [
        ("assert square(3) == 9", "grading runs only calls of pmcheck functions"),
        ("from pmcheck import calls\ncalls.nothing_here(square)", "has no check"),
        ("from pmcheck import calls\ncalls.check_calls(square, expected=E)", "literals"),
        ("from pmcheck import calls\ncalls.check_calls(3, expected='x')", "name the answer"),
        ('"""only a docstring"""', "calls no check"),
        ("def (:", "line 1"),
    ],
)
def test_a_test_cell_grade_cannot_judge_is_refused_with_its_line(source, words):
    with pytest.raises(CourseError, match="nb.ipynb, test cell"):
        read_test_cells(notebook(source), "nb")
    with pytest.raises(CourseError) as error:
        parse_checks(source, "where")
    assert words in str(error.value)


def test_the_shown_source_has_no_hidden_line():
    shown = shown_source(SQUARE_TEST)
    assert "check_calls_random" not in shown and "BEGIN HIDDEN" not in shown
    assert shown.splitlines()[-1] == HIDDEN_NOTE
    assert 'calls.check_calls(square, expected="x * x", inputs=[3])' in shown


def plan_and_payloads(data_for_each: list[str] | None):
    nb = notebook()
    plan = plan_probes(nb, read_test_cells(nb, "nb"))
    index = plan.cells[0].index
    nonce = plan.nonces[index]
    requests = plan.requests[index]
    payloads = (
        []
        if data_for_each is None
        else [{"nonce": nonce, "index": k, "data": data} for k, data in enumerate(data_for_each)]
    )
    return plan, index, requests, payloads


def test_the_probe_cell_sends_the_trials_drawn_here_and_no_test_code():
    plan, index, requests, _ = plan_and_payloads(None)
    source = plan.notebook.cells[index].source
    assert "probe_cell" in source and "check_calls_random" not in source.split("'")[0]
    assert len(requests) == 3  # one public input and two random ones
    assert requests[0][1] == {"expected": "x * x", "args": [3]}


def right(requests) -> list[str]:
    return [
        wire.dumps({"name": "square", "value": spec["args"][0] ** 2, "type": "int"})
        for _, spec in requests
    ]


def test_right_data_for_every_trial_passes():
    plan, index, requests, payloads = plan_and_payloads([])
    payloads = [
        {"nonce": plan.nonces[index], "index": k, "data": d} for k, d in enumerate(right(requests))
    ]
    (verdict,) = plan.judge(plan.notebook, {index: payloads})
    assert verdict.passed and verdict.message == ""


def test_data_with_another_nonce_is_ignored():
    plan, index, requests, _ = plan_and_payloads([])
    forged = [{"nonce": "0" * 32, "index": k, "data": d} for k, d in enumerate(right(requests))]
    (verdict,) = plan.judge(plan.notebook, {index: forged})
    assert not verdict.passed
    assert verdict.message == "the check did not finish: no data came back from the kernel"


def test_a_missing_trial_fails_with_the_cells_error():
    plan, index, requests, _ = plan_and_payloads([])
    payloads = [{"nonce": plan.nonces[index], "index": 0, "data": right(requests)[0]}]
    executed = nbformat.from_dict(plan.notebook)
    executed.cells[index].outputs = [
        nbformat.v4.new_output(
            "error", ename="CellTimeoutError", evalue="the cell ran longer than 9 s", traceback=[]
        )
    ]
    (verdict,) = plan.judge(executed, {index: payloads})
    assert verdict.message == (
        "the check did not finish: CellTimeoutError: the cell ran " "longer than 9 s"
    )


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        '{"name": "square"}',
        "[1, 2]",
        '{"name": "x y", "value": 9, "type": "int"}',
        '{"__array__": "!!", "dtype": "float32", "shape": [2]}',
    ],
)
def test_malformed_data_fails(data):
    plan, index, requests, _ = plan_and_payloads([])
    payloads = [{"nonce": plan.nonces[index], "index": 0, "data": data}]
    (verdict,) = plan.judge(plan.notebook, {index: payloads})
    assert not verdict.passed
    assert verdict.message in (
        MALFORMED,
        "the check did not finish: no data came back from " "the kernel",
    )


def test_the_graded_notebook_shows_the_verdict_only():
    plan, index, requests, _ = plan_and_payloads([])
    (verdict,) = plan.judge(plan.notebook, {})
    graded = plan.graded_notebook(plan.notebook, [verdict])
    cell = graded.cells[index]
    assert cell.source == shown_source(SQUARE_TEST)
    assert [(o.ename, o.traceback) for o in cell.outputs] == [("AssertionError", [verdict.message])]


def test_a_failed_probe_is_a_failure_but_cannot_pass():
    """May the kernel's data fail an answer? Yes. Pass one by claiming so? No."""
    spec = {"expected": "x * x", "args": [3]}
    assert calls.CALLS.verdict(None, spec, {"failed": "square(3) raised X"}) == "square(3) raised X"
    assert calls.CALLS.verdict(None, spec, {"passed": True}) == MALFORMED
    assert (
        calls.CALLS.verdict(None, spec, {"name": "square", "value": 6, "type": "int"})
        == "square(3) should be 9; got 6"
    )


def test_the_notebook_check_and_grade_say_the_same_words():
    """Does the in-kernel check raise exactly the judge's message for the same data?"""
    with pytest.raises(AssertionError) as failure:
        calls.check_calls(lambda x: x + x, expected="x * x", inputs=[3])
    assert str(failure.value) == "<lambda>(3) should be 9; got 6".replace(
        "<lambda>", "your function"
    )


def test_wire_round_trips_arrays_and_refuses_what_is_not_data():
    data = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "t": (1, 2),
        "n": None,
        "f": float("inf"),
    }
    back = wire.loads(wire.dumps(data))
    assert back["a"].dtype == np.float32 and back["a"].tolist() == data["a"].tolist()
    assert back["t"] == [1, 2] and back["n"] is None and back["f"] == float("inf")
    with pytest.raises(wire.WireError):
        wire.dumps({"x": object()})
    with pytest.raises(wire.WireError):
        wire.loads(json.dumps({"__array__": "AAAA", "dtype": "object", "shape": [1]}))
    with pytest.raises(wire.WireError):
        wire.loads(json.dumps({"__array__": "AAAA", "dtype": "float32", "shape": [9]}))
    with pytest.raises(wire.WireError):
        wire.loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(wire.WireError):
        wire.loads(" " * (wire.MAX_BYTES + 1))
