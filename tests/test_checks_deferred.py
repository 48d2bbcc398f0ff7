"""Do the deferred checks know each framework's shapes before and after the first batch?"""
from __future__ import annotations

import pytest

from autograder.checks import deferred, frameworks
from notebook_runner import failing, run_in_process
from wrong_answers import by_assignment

FRAMEWORKS = frameworks.FRAMEWORKS


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_reference_solutions_pass_every_test_cell(framework):
    results = run_in_process(f"deferred_{framework}")
    assert not failing(results), results


@pytest.mark.parametrize("row", by_assignment("deferred"), ids=lambda row: row.id)
def test_wrong_answer_loses_its_question_only(row):
    results = run_in_process(row.notebook, {row.answer: row.code})
    assert failing(results) == set(row.fails), results
    assert row.message in results[row.fails[0]]


@pytest.mark.parametrize("framework, before", [
    ("pytorch", [None, None, None]),
    ("mxnet", [(5, 0), (3, 0), (2, 0)]),
    ("mindspore", [(5, 7), (3, 5), (2, 3)]),
])
def test_reference_shapes_are_each_frameworks_own(framework, before):
    got_before, after = deferred.reference_shapes(frameworks.get(framework), [5, 3, 2], 7)
    assert got_before == before
    assert after == [(5, 7), (3, 5), (2, 3)]


def test_hidden_trials_differ_in_depth_and_avoid_the_example():
    draws = deferred._draws(3)
    assert len({len(widths) for widths, _ in draws}) == 3
    assert all(len(widths) != 2 for widths, _ in draws)


def test_shapes_may_be_lists():
    deferred.check_shapes_after(
        lambda widths, d: [[w, i] for w, i in zip(widths, [d, *widths])], "mindspore")


def test_a_wrong_length_is_named():
    with pytest.raises(AssertionError, match="one shape per dense layer, 2 in all"):
        deferred.check_shapes_after(lambda widths, d: [(256, 20)], "pytorch")
