"""Do the access checks pass right answers and catch wrong ones, saying what is wrong?"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.checks import access, frameworks
from notebook_runner import failing, run_in_process
from wrong_answers import by_assignment

FRAMEWORKS = frameworks.FRAMEWORKS


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_reference_solutions_pass_every_test_cell(framework):
    results = run_in_process(f"access_{framework}")
    assert not failing(results), results


@pytest.mark.parametrize("row", by_assignment("access"), ids=lambda row: row.id)
def test_wrong_answer_loses_its_question_only(row):
    results = run_in_process(row.notebook, {row.answer: row.code})
    assert failing(results) == set(row.fails), results
    assert row.message in results[row.fails[0]]


def test_shapes_may_be_lists_or_torch_sizes():
    def as_lists(net):
        return {name: list(p.shape) for name, p in net.named_parameters()}

    def as_sizes(net):
        return {name: p.shape for name, p in net.named_parameters()}

    for answer in (as_lists, as_sizes):
        access.check_param_shapes_examples(answer, "pytorch")


def test_a_shape_must_be_a_shape():
    def as_strings(net):
        return {name: str(tuple(p.shape)) for name, p in net.named_parameters()}

    with pytest.raises(AssertionError, match="tuple of ints"):
        access.check_param_shapes_examples(as_strings, "pytorch")


def test_random_nets_are_nested_and_differ():
    fw = frameworks.get("pytorch")
    gen = np.random.default_rng()
    names = [tuple(fw.named_parameters(access.random_net(fw, gen))) for _ in range(10)]
    assert len(set(names)) == 10
    assert all(max(name.count(".") for name in net) >= 4 for net in names)


def test_hidden_block_indexes_never_repeat_back_to_back():
    seen = []

    def block_bias(rgnet, i):
        seen.append(i)
        return rgnet[0][i][0].bias

    for _ in range(40):  # the draw is random: look at many, not one
        access.check_block_bias_random(block_bias, "pytorch", trials=5)
        assert all(a != b for a, b in zip(seen, seen[1:])), seen
        seen.clear()


def test_hidden_model_sizes_are_never_the_example():
    import torch

    sizes = []

    class Recorder(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            sizes.append(n)
            self.weight1 = torch.nn.Parameter(torch.rand(n, n))
            self.weight2 = torch.rand(n, n)

    access.check_my_model_random(Recorder, "pytorch", trials=3)
    assert len(set(sizes)) == 3 and 20 not in sizes


def test_a_crashing_answer_is_one_plain_line():
    def param_shapes(net):
        raise KeyError("weight")

    with pytest.raises(AssertionError, match=r"^param_shapes\(net\) raised KeyError: 'weight'$"):
        access.check_param_shapes_examples(param_shapes, "pytorch")
