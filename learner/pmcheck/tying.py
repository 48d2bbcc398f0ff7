"""Checks for the "tying" assignment: one shared layer, and gradients summed over its uses."""

from __future__ import annotations

from typing import Any

import numpy as np

from pmcheck.common import call, describe, fail, number, rng, shape_text
from pmcheck.frameworks import Framework, get
from pmcheck.question import Question, Spec, require

LAYOUT = {
    "pytorch": "Linear(d, h), ReLU, shared, ReLU, shared, ReLU, Linear(h, 1)",
    "mxnet": "Dense(h, relu), shared, the shared layer again, Dense(1)",
    "mindspore": "Dense(d, h), ReLU, shared, ReLU, shared, ReLU, Dense(h, 1)",
}


def tied_positions(fw: Framework) -> tuple[int, int]:
    """Where the two uses of the shared layer sit in the net ``make_tied_net`` builds.

    PyTorch and MindSpore: Dense, ReLU, shared, ReLU, shared, ReLU, Dense. MXNet folds each
    ReLU into its Dense layer: Dense, shared, shared, Dense.
    """
    return fw.step, 2 * fw.step


def expected_length(fw: Framework) -> int:
    """Four dense uses, with a separate ReLU after each of the first three where needed."""
    return 3 * fw.step + 1


# -- Part A: a net with a tied layer -----------------------------------------------------
def _tied_net_specs(framework: str, d: int = 4, h: int = 8) -> list[Spec]:
    """``make_tied_net(d, h)`` ties its middle layers: one object, shared updates and gradients."""
    gen = rng()
    return [
        {
            "d": d,
            "h": h,
            "X": gen.normal(size=(5, d)),
            "value": float(np.round(gen.uniform(50, 150) * gen.choice([-1, 1]), 3)),
            "gradient": True,
        }
    ]


def _tied_net_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_tied_net`` for sizes drawn at random (never the example's 4 and 8).

    The summed gradient, which follows from the shared object, is checked on the public
    sizes only: an autograd pass per trial costs MindSpore more than the rest of the trial.
    """
    gen = rng()
    specs = []
    for _ in range(trials):
        d = int(gen.choice([k for k in range(2, 13) if k != 4]))
        h = int(gen.choice([k for k in range(3, 17) if k != 8]))
        specs += [dict(spec, gradient=False) for spec in _tied_net_specs(framework, d, h)]
    return specs


def _probe_tied_net(make_tied_net: Any, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    d, h = spec["d"], spec["h"]
    net = call(make_tied_net, d, h, shown=f"{d}, {h}")
    size = _length(net)
    if size != expected_length(fw):
        return {"length": size, "type": type(net).__name__}
    i, j = tied_positions(fw)
    positions = (0, i, j, size - 1)
    before = [_weight_shape(fw, net[k]) for k in positions]
    if not _fits(before, _expected_shapes(d, h)):
        return {"length": size, "before": before}
    try:
        output = fw.first_forward(net, spec["X"])
    except Exception as error:  # noqa: BLE001 - the learner's net may be broken in any way
        fail(
            f"make_tied_net({d}, {h}): running the net on a batch with {d} features raised "
            f"{describe(error)}"
        )
    after = [_weight_shape(fw, net[k]) for k in positions]
    if after != [list(shape) for shape in _expected_shapes(d, h)]:
        return {"length": size, "before": before, "after": after}
    weights = [fw.numpy(fw.weight(net[k])) for k in positions]
    biases = [
        fw.numpy(b) if (b := getattr(net[k], "bias", None)) is not None else np.zeros(w.shape[0])
        for k, w in zip(positions, weights)
    ]
    first, second = fw.weight(net[i]), fw.weight(net[j])
    original = fw.numpy(first)
    changed = original.copy()
    changed[0, 0] = spec["value"]
    fw.set_numpy(first, changed)
    seen = float(fw.numpy(second)[0, 0])
    fw.set_numpy(first, original)
    gradient = fw.grads(net, spec["X"], [first])[0] if spec["gradient"] else None
    return {
        "length": size,
        "before": before,
        "after": after,
        "weights": weights,
        "biases": biases,
        "output": output,
        "same": first is second,
        "seen": seen,
        "gradient": gradient,
    }


def _judge_tied_net(framework: str, spec: Spec, data: dict) -> str | None:
    fw = get(framework)
    d, h = spec["d"], spec["h"]
    head = f"make_tied_net({d}, {h})"
    i, j = tied_positions(fw)
    size = data["length"]
    if size != expected_length(fw):
        return (
            f"{head} should be a Sequential of {expected_length(fw)} layers "
            f"({LAYOUT[fw.key]}); got {size if size is not None else data.get('type')}"
        )
    positions = (0, i, j, size - 1)
    for key in ("before", "after"):
        for k, got, shape in zip(positions, data.get(key, []), _expected_shapes(d, h)):
            if not _fits([got], [shape]):
                return (
                    f"{head}: the weight of net[{k}] should have shape {shape_text(shape)}; "
                    f"got {shape_text(tuple(got))}"
                )
    if "weights" not in data:
        return f"{head}: after a forward pass the weights still have no full shape"
    X = spec["X"]
    weights, biases = data["weights"], data["biases"]
    for W, b, shape in zip(weights, biases, _expected_shapes(d, h)):
        require(W.shape == shape and b.shape == shape[:1])
    output = data["output"]
    if output.shape != (X.shape[0], 1) or not np.allclose(
        output, _forward(weights, biases, X), rtol=1e-4, atol=1e-4
    ):
        return (
            f"{head}: the net's output does not match {LAYOUT[fw.key]}, computed from its "
            f"own weights — is a layer or a ReLU missing or out of place?"
        )
    seen, value = data["seen"], spec["value"]
    tied = np.isclose(seen, value) and np.array_equal(weights[1], weights[2])
    if not tied:
        return (
            f"{head}: net[{i}] and net[{j}] hold two different weights — setting net[{i}]'s "
            f"weight[0, 0] to {number(value)} left net[{j}]'s at {number(seen)}. Equal "
            f"values are not enough: add the same layer object twice (shared)"
        )
    if data["same"] is not True:
        return (
            f"{head}: net[{i}] and net[{j}] share their values but their weights are two "
            f"{fw.parameter_class} objects, so each use gets a gradient of its own and "
            f"training would pull them apart; add the same layer object twice (shared)"
        )
    if not spec["gradient"]:
        return None
    per_use = per_use_gradients(weights, biases, X)
    gradient = data["gradient"]
    require(gradient.shape == (h, h))
    if not np.allclose(gradient, per_use[0] + per_use[1], rtol=1e-3, atol=1e-4):
        return (
            f"{head}: the gradient of the shared weight should be the sum of the "
            f"gradients of its two uses; it is not — are the two uses really the same "
            f"layer?"
        )
    return None


def _expected_shapes(d: int, h: int) -> list[tuple[int, int]]:
    return [(h, d), (h, h), (h, h), (1, h)]


def _fits(shapes: list[list[int] | None], expected: list[tuple[int, int]]) -> bool:
    """Each shape is the expected one, or not known yet (MXNet waits for data: 0 or None)."""
    return all(
        got is None or 0 in got or tuple(got) == shape for got, shape in zip(shapes, expected)
    )


def _weight_shape(fw: Framework, layer: Any) -> list[int] | None:
    shape = fw.shape(fw.weight(layer))
    return None if shape is None else list(shape)


def _length(net: Any) -> int | None:
    try:
        return len(net)
    except TypeError:
        return None


def _forward(weights: list[np.ndarray], biases: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    """The tied net's output in numpy, from its weights: the independent reference."""
    h = X
    for W, b in zip(weights[:-1], biases[:-1]):
        h = np.maximum(h @ W.T + b, 0)
    return h @ weights[-1].T + biases[-1]


def per_use_gradients(
    weights: list[np.ndarray], biases: list[np.ndarray], X: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """d sum(net(X)) / dW for each use of the shared W, by hand, as if the uses were untied."""
    (W0, W1, W2, W3), (b0, b1, b2, _) = weights, biases
    h1 = np.maximum(X @ W0.T + b0, 0)
    a2 = h1 @ W1.T + b1
    h2 = np.maximum(a2, 0)
    a3 = h2 @ W2.T + b2
    g3 = np.ones((X.shape[0], 1)) @ W3 * (a3 > 0)
    g2 = g3 @ W2 * (a2 > 0)
    return g2.T @ h1, g3.T @ h2


TIED_NET = Question("tying.tied_net", _probe_tied_net, _judge_tied_net)
check_tied_net = TIED_NET.check_function("check_tied_net", "public", _tied_net_specs)
check_tied_net_random = TIED_NET.check_function(
    "check_tied_net_random", "random", _tied_net_random_specs
)


# -- Part B: the gradient of a tied weight -----------------------------------------------
def _tied_grad_specs(framework: str, w: float = 3.0, x: float = 1.0) -> list[Spec]:
    """``tied_weight_grad(w, x)`` is d/dw of net(x) for net = (shared, shared), shared.weight = w.

    The truth is the sum of the gradients of the two uses, as if they were two separate
    1 x 1 layers that both hold w: w·x each, 2·w·x in all (the tests check this against
    every framework's autograd on such an untied copy).
    """
    return [{"w": float(w), "x": float(x)}]


def _tied_grad_random_specs(framework: str, trials: int = 5) -> list[Spec]:
    """``check_tied_grad`` for weights and inputs drawn at random, away from 0 and from 3 and 1."""
    gen = rng()
    specs = []
    for _ in range(trials):
        w, x = gen.uniform(0.5, 2.5, size=2) * gen.choice([-1.0, 1.0], size=2)
        specs += _tied_grad_specs(framework, round(float(w), 3), round(float(x), 3))
    return specs


def _probe_tied_grad(tied_weight_grad: Any, framework: str, spec: Spec) -> dict:
    w, x = spec["w"], spec["x"]
    got = call(tied_weight_grad, w, x)
    value = _scalar(get(framework), got)
    if value is None:
        fail(
            f"tied_weight_grad({w:g}, {x:g}) should return a number; got "
            f"{type(got).__name__} {_short(got)}"
        )
    return {"value": value}


def _judge_tied_grad(framework: str, spec: Spec, data: dict) -> str | None:
    w, x = spec["w"], spec["x"]
    got = data["value"]
    require(isinstance(got, float))
    inner = outer = w * x
    truth = inner + outer
    if np.isclose(got, truth, rtol=1e-4, atol=1e-5):
        return None
    head = (
        f"for w = {w:g} and x = {x:g}, the tied weight's gradient should be the sum over "
        f"both uses, 2·w·x = {number(truth)}; got {number(got)}"
    )
    if np.isclose(got, inner, rtol=1e-4, atol=1e-5):
        return f"{head} — the gradient of one use (w·x = {number(inner)})"
    if np.isclose(got, w * w * x, rtol=1e-4, atol=1e-5):
        return f"{head} — that is the net's output w·w·x, not its gradient"
    if np.isclose(got, 2 * truth, rtol=1e-4, atol=1e-5):
        return (
            f"{head} — twice the answer: gradients add up over backward passes; start from "
            f"a fresh net (or zero the gradient) and call backward once"
        )
    return head


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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


TIED_GRAD = Question("tying.tied_grad", _probe_tied_grad, _judge_tied_grad)
check_tied_grad = TIED_GRAD.check_function("check_tied_grad", "public", _tied_grad_specs)
check_tied_grad_random = TIED_GRAD.check_function(
    "check_tied_grad_random", "random", _tied_grad_random_specs
)
