"""Do the tying checks compute the truth independently and say which gradient came back?"""

from __future__ import annotations

import numpy as np
import pytest

from pmcheck import frameworks, tying

FRAMEWORKS = frameworks.FRAMEWORKS


def test_one_use_is_named_with_both_numbers():
    with pytest.raises(AssertionError) as failure:
        tying.check_tied_grad(lambda w, x: w * x, "pytorch", w=1.5, x=1.4)
    assert (
        "the tied weight's gradient should be the sum over both uses, 2·w·x = 4.2; got 2.1"
        " — the gradient of one use"
    ) in str(failure.value)


def untied_gradients(fw: frameworks.Framework, w: float, x: float) -> tuple[float, float]:
    """The gradients of the two uses of w, computed on an untied copy in the framework."""
    net = fw.sequential([fw.dense(1, 1, bias=False), fw.dense(1, 1, bias=False)])
    fw.ready(net, 1)
    first, second = (fw.weight(layer) for layer in fw.dense_layers(net))
    for param in (first, second):
        fw.set_numpy(param, np.full((1, 1), w))
    g_first, g_second = fw.grads(net, np.full((1, 1), x), [first, second])
    return float(g_first.item()), float(g_second.item())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_untied_copy_gives_one_gradient_per_use(framework):
    """Is the judge's truth, w·x per use, what each framework's autograd gives an untied copy?"""
    w, x = 1.7, -0.6
    inner, outer = untied_gradients(frameworks.get(framework), w, x)
    assert inner == pytest.approx(w * x, rel=1e-5)
    assert outer == pytest.approx(w * x, rel=1e-5)


def test_hand_written_per_use_gradients_match_autograd_on_an_untied_net():
    """Does the numpy reference for the tied MLP agree with PyTorch on an untied copy?"""
    import torch
    from torch import nn

    fw = frameworks.get("pytorch")
    torch.manual_seed(0)
    first, second = nn.Linear(5, 5), nn.Linear(5, 5)
    second.load_state_dict(first.state_dict())
    net = nn.Sequential(
        nn.Linear(3, 5), nn.ReLU(), first, nn.ReLU(), second, nn.ReLU(), nn.Linear(5, 1)
    )
    X = np.random.default_rng(0).normal(size=(7, 3))
    autograd = fw.grads(net, X, [first.weight, second.weight])
    layers = [net[k] for k in (0, 2, 4, 6)]
    by_hand = tying.per_use_gradients(
        [fw.numpy(layer.weight) for layer in layers], [fw.numpy(layer.bias) for layer in layers], X
    )
    for ours, theirs in zip(by_hand, autograd):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_a_missing_relu_is_caught_by_the_forward_check():
    from torch import nn

    def make_tied_net(d, h):
        shared = nn.Linear(h, h)
        return nn.Sequential(
            nn.Linear(d, h), nn.ReLU(), shared, nn.Identity(), shared, nn.ReLU(), nn.Linear(h, 1)
        )

    with pytest.raises(AssertionError, match="output does not match"):
        tying.check_tied_net(make_tied_net, "pytorch")


def test_a_tensor_answer_counts_as_its_number():
    import torch

    tying.check_tied_grad(lambda w, x: torch.tensor([[2 * w * x]]), "pytorch", w=0.7, x=2.0)
