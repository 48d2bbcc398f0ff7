"""Do the initialization checks pass right answers, catch wrong ones, and rarely err by chance?"""

from __future__ import annotations

import re

import numpy as np
import pytest

from pmcheck import frameworks, initialization
from pmcheck.question import MALFORMED
from pmcheck.initialization import (
    mixture_false_failure_bound,
    mixture_layout_false_failure_bound,
    xavier_false_failure_bound,
)
from autograder.notebooks import grade_id
from helpers.notebook_runner import source_notebook

FRAMEWORKS = frameworks.FRAMEWORKS


#: For each statistical test cell, the bounds its docstring states, in the order stated.
STATED_BOUNDS = {
    "mixture_init_distribution": [mixture_false_failure_bound(400 * 500)],
    "mixture_init_every_layer": [
        mixture_false_failure_bound(400 * 400 + 400 * 200)
        + mixture_layout_false_failure_bound(400 * 400)
    ],
    "first_xavier_last_42": [
        xavier_false_failure_bound(128 * 96),
        3 * xavier_false_failure_bound(96 * 96),
    ],
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
        if type(m) == nn.Linear:  # noqa: E721 -- as the exercise's answers are written
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


def _mixture_sample(gen, shape):
    """A correct mixture in numpy: what an honest probe reports."""
    size = gen.uniform(5, 10, size=shape) * gen.choice([-1.0, 1.0], size=shape)
    return (size * (gen.random(shape) >= 0.5)).astype(np.float32)


def test_the_judge_passes_a_correct_mixture_and_rejects_a_smaller_sample():
    """Statistics are computed by the judge on arrays of the spec's shape, and only on those."""
    gen = np.random.default_rng(1)
    spec = {"sizes": [500, 400], "again": False}
    assert (
        initialization.MIXTURE.verdict(
            "pytorch", spec, {"weights": [_mixture_sample(gen, (400, 500))]}
        )
        is None
    )
    small = {"weights": [_mixture_sample(gen, (40, 50))]}
    assert initialization.MIXTURE.verdict("pytorch", spec, small) == MALFORMED


def test_a_forged_random_report_must_carry_every_layer_and_a_second_draw():
    gen = np.random.default_rng(2)
    sizes = [400, 450, 300, 5]
    spec = {"sizes": sizes, "again": True}
    layers = [_mixture_sample(gen, (out, in_)) for in_, out in zip(sizes, sizes[1:])]
    honest = {"weights": layers, "again": _mixture_sample(gen, layers[0].shape)}
    verdict = initialization.MIXTURE.verdict
    assert verdict("mxnet", spec, honest) is None
    assert verdict("mxnet", spec, {"weights": layers[:1], "again": honest["again"]}) == MALFORMED
    assert verdict("mxnet", spec, {"weights": layers}) == MALFORMED
    assert "draw fresh random numbers" in verdict(
        "mxnet", spec, {"weights": layers, "again": layers[0]}
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_untouched_net_reads_back_the_seeds_weights(framework):
    """Does the probe write the seed's weights into every framework's net, exactly?

    The judge regenerates them itself: with a function that changes nothing, it must find
    the last layer unchanged, which it can only if the readback equals its own weights.
    """
    with pytest.raises(AssertionError, match="the last layer's weight was not changed"):
        initialization.check_xavier_first_42_last(lambda net: None, framework)


def _xavier_report(spec, gain=1.0):
    """What an honest probe reports for a correct answer, made in numpy from the seed."""
    weights = initialization.starting_weights(spec["sizes"], spec["seed"])
    fan_out, fan_in = weights[0].shape
    bound = gain * np.sqrt(6 / (fan_in + fan_out))
    weights[0] = np.random.default_rng().uniform(-bound, bound, weights[0].shape)
    weights[-1] = np.full_like(weights[-1], 42)
    return {"weights": [w.astype(np.float32) for w in weights]}


def test_the_xavier_judge_takes_the_weights_before_from_the_seed_only():
    spec = initialization.XAVIER.specs("public", "pytorch")[0]
    verdict = initialization.XAVIER.verdict
    assert verdict("pytorch", spec, _xavier_report(spec)) is None
    fresh = _xavier_report(spec)
    fresh["weights"][1] = np.random.default_rng().uniform(-0.5, 0.5, fresh["weights"][1].shape)
    assert "dense layer 1 was re-initialized" in verdict("pytorch", spec, fresh)
    other = _xavier_report({**spec, "seed": spec["seed"] + 1})
    assert "was re-initialized" in verdict("pytorch", spec, other)
    kept = _xavier_report(spec)
    kept["weights"][0] = initialization.starting_weights(spec["sizes"], spec["seed"])[0]
    assert "the first layer's weight was not changed" in verdict("pytorch", spec, kept)
    assert "another gain" in verdict("pytorch", spec, _xavier_report(spec, gain=0.7))
    short = {"weights": _xavier_report(spec)["weights"][:-1]}
    assert verdict("pytorch", spec, short) == MALFORMED


def test_the_default_initializer_is_named():
    def init_first_and_last(net):
        net[0].reset_parameters()
        net[-1].weight.data.fill_(42)

    with pytest.raises(AssertionError, match="the framework's default initializer"):
        initialization.check_xavier_first_42_last(init_first_and_last, "pytorch")


def test_hidden_xavier_nets_are_large_enough_and_of_varied_depth():
    specs = initialization.XAVIER.specs("random", "pytorch", trials=30)
    assert len({len(spec["sizes"]) for spec in specs}) > 1
    for spec in specs:
        assert 4 <= len(spec["sizes"]) <= 6
        assert all(
            initialization.XAVIER_SIZES[0] <= s <= initialization.XAVIER_SIZES[1]
            for s in spec["sizes"][:2]
        )
