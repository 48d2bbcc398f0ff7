"""Checks for the "tying" assignment: one shared layer, and gradients summed over its uses."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.checks.common import call, describe, expect, fail, number, rng, shape_text
from autograder.checks.frameworks import Framework, get

#: Where the two uses of the shared layer sit in the net ``make_tied_net`` builds.
#: PyTorch and MindSpore: Dense, ReLU, shared, ReLU, shared, ReLU, Dense.
#: MXNet folds each ReLU into its Dense layer: Dense, shared, shared, Dense.
TIED_POSITIONS = {"pytorch": (2, 4), "mxnet": (1, 2), "mindspore": (2, 4)}
LAYOUT = {
    "pytorch": "Linear(d, h), ReLU, shared, ReLU, shared, ReLU, Linear(h, 1)",
    "mxnet": "Dense(h, relu), shared, the shared layer again, Dense(1)",
    "mindspore": "Dense(d, h), ReLU, shared, ReLU, shared, ReLU, Dense(h, 1)",
}


# -- Part A: a net with a tied layer -----------------------------------------------------
def check_tied_net(make_tied_net: Callable, framework: str, d: int = 4, h: int = 8) -> None:
    """``make_tied_net(d, h)`` ties its middle layers: one object, shared updates and gradients."""
    fw = get(framework)
    net = call(make_tied_net, d, h, shown=f"{d}, {h}")
    i, j = TIED_POSITIONS[fw.key]
    head = f"make_tied_net({d}, {h})"
    size = _length(net)
    expect(size == _expected_length(fw),
           f"{head} should be a Sequential of {_expected_length(fw)} layers ({LAYOUT[fw.key]}); "
           f"got {size if size is not None else type(net).__name__}")
    expected_shapes = {0: (h, d), i: (h, h), j: (h, h), len(net) - 1: (1, h)}

    def check_shapes() -> None:
        for k, shape in expected_shapes.items():
            got = fw.shape(fw.weight(net[k]))
            if got is not None and 0 not in got:  # known already (MXNet waits for data)
                expect(got == shape,
                       f"{head}: the weight of net[{k}] should have shape {shape_text(shape)}; "
                       f"got {shape_text(got)}")

    check_shapes()
    try:
        fw.ready(net, d)
    except Exception as error:  # noqa: BLE001 - the learner's net may be broken in any way
        fail(f"{head}: running the net on a batch with {d} features raised {describe(error)}")
    check_shapes()
    uses = [fw.weight(net[i]), fw.weight(net[j])]
    gen = rng()
    X = gen.normal(size=(5, d))
    expected = _forward(fw, net, X)
    got = fw.forward(net, X)
    expect(got.shape == expected.shape and np.allclose(got, expected, rtol=1e-4, atol=1e-4),
           f"{head}: the net's output does not match {LAYOUT[fw.key]}, computed from its own "
           f"weights — is a layer or a ReLU missing or out of place?")
    same = uses[0] is uses[1]
    original = fw.numpy(uses[0])
    changed = original.copy()
    changed[0, 0] = 100.0 if original[0, 0] != 100.0 else -100.0
    fw.set_numpy(uses[0], changed)
    seen = fw.numpy(uses[1])[0, 0]
    fw.set_numpy(uses[0], original)
    if not same and not np.isclose(seen, changed[0, 0]):
        fail(f"{head}: net[{i}] and net[{j}] hold two different weights — setting net[{i}]'s "
             f"weight[0, 0] to {number(changed[0, 0])} left net[{j}]'s at {number(seen)}. Equal "
             f"values are not enough: add the same layer object twice (shared)")
    if not same:
        fail(f"{head}: net[{i}] and net[{j}] share their values but their weights are two "
             f"{fw.parameter_class} objects, so each use gets a gradient of its own and "
             f"training would pull them apart; add the same layer object twice (shared)")
    gradient = fw.grads(net, X, [uses[0]])[0]
    per_use = _per_use_gradients(fw, net, X)
    expect(np.allclose(gradient, per_use[0] + per_use[1], rtol=1e-3, atol=1e-4),
           f"{head}: the gradient of the shared weight should be the sum of the gradients of "
           f"its two uses; it is not — are the two uses really the same layer?")


def check_tied_net_random(make_tied_net: Callable, framework: str, trials: int = 3) -> None:
    """``check_tied_net`` for sizes drawn at random (never the example's 4 and 8)."""
    gen = rng()
    for _ in range(trials):
        d = int(gen.choice([k for k in range(2, 13) if k != 4]))
        h = int(gen.choice([k for k in range(3, 17) if k != 8]))
        check_tied_net(make_tied_net, framework, d, h)


def _expected_length(fw: Framework) -> int:
    return 7 if fw.step == 2 else 4


def _length(net: Any) -> int | None:
    try:
        return len(net)
    except TypeError:
        return None


def _layer_arrays(fw: Framework, net: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) of the four dense uses, in order; b is zeros for a layer without bias."""
    i, j = TIED_POSITIONS[fw.key]
    arrays = []
    for k in (0, i, j, len(net) - 1):
        W = fw.numpy(fw.weight(net[k]))
        bias = getattr(net[k], "bias", None)
        arrays.append((W, fw.numpy(bias) if bias is not None else np.zeros(W.shape[0])))
    return arrays


def _forward(fw: Framework, net: Any, X: np.ndarray) -> np.ndarray:
    """The tied net's output in numpy, from its weights: the independent reference."""
    (W0, b0), (W1, b1), (W2, b2), (W3, b3) = _layer_arrays(fw, net)
    h = np.maximum(X @ W0.T + b0, 0)
    h = np.maximum(h @ W1.T + b1, 0)
    h = np.maximum(h @ W2.T + b2, 0)
    return h @ W3.T + b3


def _per_use_gradients(fw: Framework, net: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d sum(net(X)) / dW for each use of the shared W, by hand, as if the uses were untied."""
    (W0, b0), (W1, b1), (W2, b2), (W3, _) = _layer_arrays(fw, net)
    h1 = np.maximum(X @ W0.T + b0, 0)
    a2 = h1 @ W1.T + b1
    h2 = np.maximum(a2, 0)
    a3 = h2 @ W2.T + b2
    g3 = np.ones((X.shape[0], 1)) @ W3 * (a3 > 0)
    g2 = g3 @ W2 * (a2 > 0)
    return g2.T @ h1, g3.T @ h2


# -- Part B: the gradient of a tied weight -----------------------------------------------
def check_tied_grad(tied_weight_grad: Callable, framework: str, w: float = 3.0,
                    x: float = 1.0) -> None:
    """``tied_weight_grad(w, x)`` is d/dw of net(x) for net = (shared, shared), shared.weight = w.

    The truth comes from an untied copy: two separate 1 x 1 layers that both hold w; the
    tied gradient is the sum of their two gradients (2·w·x).
    """
    fw = get(framework)
    got_raw = call(tied_weight_grad, w, x)
    got = _scalar(fw, got_raw)
    expect(got is not None,
           f"tied_weight_grad({w:g}, {x:g}) should return a number; got "
           f"{type(got_raw).__name__} {got_raw!r}")
    inner, outer = _untied_gradients(fw, w, x)
    truth = inner + outer
    if np.isclose(got, truth, rtol=1e-4, atol=1e-5):
        return
    head = (f"for w = {w:g} and x = {x:g}, the tied weight's gradient should be the sum over "
            f"both uses, 2·w·x = {number(truth)}; got {number(got)}")
    if np.isclose(got, inner, rtol=1e-4, atol=1e-5):
        fail(f"{head} — the gradient of one use (w·x = {number(inner)})")
    if np.isclose(got, w * w * x, rtol=1e-4, atol=1e-5):
        fail(f"{head} — that is the net's output w·w·x, not its gradient")
    if np.isclose(got, 2 * truth, rtol=1e-4, atol=1e-5):
        fail(f"{head} — twice the answer: gradients add up over backward passes; start from a "
             f"fresh net (or zero the gradient) and call backward once")
    fail(head)


def check_tied_grad_random(tied_weight_grad: Callable, framework: str, trials: int = 5) -> None:
    """``check_tied_grad`` for weights and inputs drawn at random, away from 0 and from 3 and 1."""
    gen = rng()
    for _ in range(trials):
        w, x = gen.uniform(0.5, 2.5, size=2) * gen.choice([-1.0, 1.0], size=2)
        check_tied_grad(tied_weight_grad, framework, round(float(w), 3), round(float(x), 3))


def _untied_gradients(fw: Framework, w: float, x: float) -> tuple[float, float]:
    """The gradients of the two uses of w, computed on an untied copy in the framework."""
    net = fw.sequential([fw.dense(1, 1, bias=False), fw.dense(1, 1, bias=False)])
    fw.ready(net, 1)
    first, second = (fw.weight(layer) for layer in fw.dense_layers(net))
    for param in (first, second):
        fw.set_numpy(param, np.full((1, 1), w))
    g_first, g_second = fw.grads(net, np.full((1, 1), x), [first, second])
    return float(g_first.item()), float(g_second.item())


def _scalar(fw: Framework, value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.number)):
        return float(value)
    try:
        array = fw.numpy(value)
    except Exception:  # noqa: BLE001 - not a number of any kind the framework knows
        return None
    return float(array.item()) if array.size == 1 else None
