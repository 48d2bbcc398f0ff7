"""Do the initialization checks pass right answers, catch wrong ones, and rarely err by chance?"""
from __future__ import annotations

import re

import pytest

from autograder.checks import frameworks, initialization
from autograder.checks.initialization import (mixture_false_failure_bound,
                                              mixture_layout_false_failure_bound,
                                              xavier_false_failure_bound)
from autograder.notebooks import grade_id
from notebook_runner import failing, run_in_process, source_notebook
from wrong_answers import by_assignment

FRAMEWORKS = frameworks.FRAMEWORKS


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_reference_solutions_pass_every_test_cell(framework):
    results = run_in_process(f"initialization_{framework}")
    assert not failing(results), results


@pytest.mark.parametrize("row", by_assignment("initialization"), ids=lambda row: row.id)
def test_wrong_answer_loses_its_question_only(row):
    results = run_in_process(row.notebook, {row.answer: row.code})
    assert failing(results) == set(row.fails), results
    assert row.message in results[row.fails[0]]


#: For each statistical test cell, the bounds its docstring states, in the order stated.
STATED_BOUNDS = {
    "mixture_init_distribution": [mixture_false_failure_bound(400 * 500)],
    "mixture_init_every_layer": [mixture_false_failure_bound(400 * 400 + 400 * 200)
                                 + mixture_layout_false_failure_bound(400 * 400)],
    "first_xavier_last_42": [xavier_false_failure_bound(128 * 96),
                             3 * xavier_false_failure_bound(96 * 96)],
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_stated_false_failure_rates_are_upper_bounds(framework):
    """Does every statistical test cell state a false-failure rate its bound stays under?"""
    cells = {grade_id(c): c.source for c in source_notebook(f"initialization_{framework}").cells}
    for name, bounds in STATED_BOUNDS.items():
        docstring = cells[name].split('"""')[1]
        stated = [float(x) for x in re.findall(r"\d(?:\.\d+)?e-\d+", docstring)]
        assert len(stated) == len(bounds), (name, cells[name])
        for bound, claim in zip(bounds, stated):
            assert bound < claim, (name, bound, claim)


def test_bounds_shrink_with_the_number_of_weights():
    assert mixture_false_failure_bound(200_000) < 2e-16
    assert mixture_false_failure_bound(20_000) > 1e-3  # too small a layer to check reliably
    assert xavier_false_failure_bound(96 * 96) < 1e-19


def _torch_init(draw):
    """A PyTorch initializer that fills each Linear weight with ``draw(shape)``."""
    import torch
    from torch import nn

    def init(m):
        if type(m) == nn.Linear:
            with torch.no_grad():
                m.weight.copy_(draw(m.weight.shape))

    return init


def _mixture(p_zero=0.5, high=10.0):
    import torch

    def draw(shape):
        size = torch.empty(shape).uniform_(5, high)
        sign = torch.where(torch.rand(shape) < 0.5, 1.0, -1.0)
        return size * sign * (torch.rand(shape) >= p_zero)

    return draw


def test_a_correct_mixture_passes_every_time():
    for _ in range(20):
        initialization.check_mixture_init(_torch_init(_mixture()), "pytorch")


@pytest.mark.parametrize("keep", ["gt", "ge"])
def test_the_edge_at_five_does_not_matter(keep):
    import torch

    def draw(shape):
        w = torch.empty(shape).uniform_(-10, 10)
        return w * (w.abs() > 5 if keep == "gt" else w.abs() >= 5)

    initialization.check_mixture_init(_torch_init(draw), "pytorch")
    initialization.check_mixture_init_random(_torch_init(draw), "pytorch")


def test_three_percent_too_few_zeros_fails():
    with pytest.raises(AssertionError, match="about 50% of the weights to be exactly 0"):
        initialization.check_mixture_init(_torch_init(_mixture(p_zero=0.47)), "pytorch")


def test_a_narrower_interval_fails_the_uniformity_check():
    with pytest.raises(AssertionError, match="spread uniformly over"):
        initialization.check_mixture_init(_torch_init(_mixture(high=9.5)), "pytorch")


def test_one_sign_only_is_named():
    import torch

    def draw(shape):
        w = torch.empty(shape).uniform_(0, 10)
        return w * (w >= 5) * 1.0

    with pytest.raises(AssertionError, match="one sign is missing"):
        initialization.check_mixture_init(_torch_init(draw), "pytorch")


def test_xavier_with_another_gain_fails_on_the_variance():
    from torch import nn

    def init_first_and_last(net):
        nn.init.xavier_uniform_(net[0].weight, gain=0.5)
        nn.init.constant_(net[-1].weight, 42)

    with pytest.raises(AssertionError, match="variance 2 / \\(fan_in \\+ fan_out\\)"):
        initialization.check_xavier_first_42_last(init_first_and_last, "pytorch")
