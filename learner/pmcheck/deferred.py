"""Checks for the "deferred" assignment: weight shapes before and after the first forward pass.

MXNet shows a Dense layer without ``in_units`` as ``(n, 0)`` until data flows through it;
PyTorch's lazy layers hold an uninitialized parameter with no shape at all (``None`` here);
MindSpore has no deferred initialization, so every size is given and known up front.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pmcheck.common import as_shape, call, describe, expect, rng, shape_text
from pmcheck.frameworks import Framework, get
from pmcheck.question import Question, Spec, require

EXAMPLE_WIDTHS, EXAMPLE_D = (256, 10), 20
#: The batch size of the forward passes ``check_build_mlp`` runs.
BATCH = 3
#: ``check_build_mlp`` builds a second net for inputs of this many more features.
OTHER_D = 7

#: Why the shapes before the first forward pass are what they are, per framework.
_BEFORE_WHY = {
    "pytorch": (
        "a lazy layer's weight is an UninitializedParameter with no shape at all "
        "until the first forward pass, so each shape is None"
    ),
    "mxnet": (
        "MXNet cannot know a layer's input size before it sees data: a Dense layer "
        "without in_units shows (n, 0) until the first forward pass"
    ),
    "mindspore": (
        "MindSpore has no deferred initialization: every in_channels is given when "
        "the net is built, so every shape is known at once"
    ),
}

Shape = tuple[int, ...] | None


def expected_shapes(
    framework: str, widths: Sequence[int], d: int
) -> tuple[list[Shape], list[Shape]]:
    """The weight shapes of the exercise's MLP before and after a forward pass, from the sizes.

    After: ``(widths[k], input size of layer k)``, the input size being d for the first layer
    and the previous width for the others. Before: PyTorch's lazy weights have no shape
    (None), MXNet shows ``(n, 0)``, MindSpore knows every shape from the start. The tests
    check this against each framework's own deferred MLP (:func:`reference_shapes`).
    """
    after: list[Shape] = [(int(w), int(i)) for w, i in zip(widths, [d, *widths])]
    before: list[Shape] = {
        "pytorch": [None] * len(after),
        "mxnet": [(int(w), 0) for w in widths],
        "mindspore": list(after),
    }[framework]
    return before, after


def reference_shapes(fw: Framework, widths: Sequence[int], d: int) -> tuple[list[Any], list[Any]]:
    """The weight shapes of the framework's own deferred MLP, before and after a forward pass."""
    net = fw.deferred_mlp(list(widths), d)
    before = [fw.shape(fw.weight(layer)) for layer in fw.dense_layers(net)]
    fw.forward(net, np.zeros((2, d), np.float32))
    after = [fw.shape(fw.weight(layer)) for layer in fw.dense_layers(net)]
    return before, after


def _draws(trials: int) -> list[tuple[list[int], int]]:
    """Random widths and input sizes for the hidden trials.

    Each trial has a different number of layers (3, 4 or 5, never the example's 2), so
    that no fixed list of shapes passes them all.
    """
    gen = rng()
    start = int(gen.integers(0, 3))
    return [
        (
            [int(v) for v in gen.integers(2, 65, size=3 + (start + trial) % 3)],
            int(gen.integers(2, 65)),
        )
        for trial in range(trials)
    ]


# -- Part A: build the MLP ---------------------------------------------------------------
def _build_mlp_specs(
    framework: str, widths: Sequence[int] = EXAMPLE_WIDTHS, d: int = EXAMPLE_D
) -> list[Spec]:
    """``build_mlp`` gives one dense layer per width, input sizes as the framework wants them.

    PyTorch and MXNet: ``build_mlp(widths)`` must not fix the input size; the same code
    then serves inputs of any size. MindSpore: ``build_mlp(widths, d)`` gives every size.
    """
    gen = rng()
    spec = {"widths": [int(w) for w in widths], "d": int(d), "X": gen.normal(size=(BATCH, d))}
    if framework != "mindspore":
        spec["X_other"] = gen.normal(size=(BATCH, d + OTHER_D))
    return [spec]


def _build_mlp_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_build_mlp`` for widths and input sizes drawn at random."""
    return [spec for widths, d in _draws(trials) for spec in _build_mlp_specs(framework, widths, d)]


def _probe_build_mlp(build_mlp: Callable, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    widths, d = spec["widths"], spec["d"]
    shown = _signature(fw, widths, d)
    net = _build(fw, build_mlp, widths, d)
    layers = fw.dense_layers(net)
    if len(layers) != len(widths):
        return {"count": len(layers)}
    data: dict[str, Any] = {"count": len(layers), "before": [_shape(fw, layer) for layer in layers]}
    # A forward pass that raises is reported, not failed at once: the judge names a wrong
    # shape before the first pass ahead of it, as that is the cause.
    output = _run(fw, net, spec["X"], shown)
    if isinstance(output, str):
        return {**data, "error": output}
    data.update(
        output=output,
        after=[_shape(fw, layer) for layer in layers],
        weights=[fw.numpy(fw.weight(layer)).astype(np.float32) for layer in layers],
        biases=[
            None if (b := getattr(layer, "bias", None)) is None else fw.numpy(b).astype(np.float32)
            for layer in layers
        ],
    )
    if "X_other" in spec:
        other = _run(fw, _build(fw, build_mlp, widths, d + OTHER_D), spec["X_other"], shown)
        data["other"] = other if isinstance(other, str) else list(other.shape)
    return data


def _judge_build_mlp(framework: str, spec: Spec, data: dict) -> str | None:
    fw = get(framework)
    widths, d = list(spec["widths"]), spec["d"]
    shown = _signature(fw, widths, d)
    _, after = expected_shapes(framework, widths, d)
    count = data["count"]
    require(isinstance(count, int))
    if count != len(widths):
        return f"{shown} should have {len(widths)} dense layers, one per width; got " f"{count}"
    before = _read_shapes(data["before"], count)
    first = before[0]
    if fw.key == "pytorch" and first is not None:
        return (
            f"{shown}: before the first forward pass the first layer already has a weight "
            f"of shape {shape_text(first)}; use nn.LazyLinear so that the input size is "
            f"taken from the first batch"
        )
    if fw.key == "mxnet" and (first is None or first[-1] != 0):
        return (
            f"{shown}: before the first forward pass the first layer already has a weight "
            f"of shape {shape_text(first)}; leave in_units out so that MXNet takes the "
            f"input size from the first batch"
        )
    if fw.key == "mindspore" and before != after:
        return (
            f"{shown}: the weight shapes should be {_list(after)} from the start (each "
            f"layer's in_channels is the previous layer's width, d for the first); got "
            f"{_list(before)}"
        )
    if "error" in data:
        return _message(data["error"])
    X, output = spec["X"], data["output"]
    require(isinstance(output, np.ndarray))
    message = _output_shape_failure(shown, d, widths[-1], output.shape)
    if message is not None:
        return message
    shapes = _read_shapes(data["after"], count)
    if shapes != after:
        return (
            f"{shown}: after a forward pass with {d} input features the weight shapes "
            f"should be {_list(after)}; got {_list(shapes)}"
        )
    weights, biases = data["weights"], data["biases"]
    require(
        isinstance(weights, list)
        and isinstance(biases, list)
        and len(weights) == len(biases) == count
    )
    for W, b, shape in zip(weights, biases, after):
        require(isinstance(W, np.ndarray) and W.shape == shape)
        require(b is None or isinstance(b, np.ndarray) and b.shape == shape[:1])
    truth, scale = _mlp_output(weights, biases, X)
    if not np.all(np.abs(output - truth) <= 1e-4 * scale):
        return (
            f"{shown}: the net's output on a batch of shape ({BATCH}, {d}) does not match "
            f"what its dense layers' own weights give — is a ReLU missing, or one too "
            f"many? The exercise asks for a ReLU after every dense layer but the last"
        )
    if "X_other" in spec:
        other = data["other"]
        if isinstance(other, str):
            return _message(other)
        require(isinstance(other, list) and all(isinstance(n, int) for n in other))
        return _output_shape_failure(shown, d + OTHER_D, widths[-1], tuple(other))
    return None


def _mlp_output(
    weights: list[np.ndarray], biases: list[np.ndarray | None], X: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The MLP's output in numpy, from its weights: a ReLU after every dense layer but the last.

    Also the same pass on absolute values, which bounds every partial sum: float32 rounding
    stays far below 1e-4 of it, whatever the scale of the weights (a deep net of narrow
    layers may well output values near 1e-6).
    """
    h = np.asarray(X, dtype=np.float64)
    scale = np.abs(h)
    for k, (W, b) in enumerate(zip(weights, biases)):
        W = W.astype(np.float64)
        b = np.zeros(W.shape[0]) if b is None else b.astype(np.float64)
        h, scale = h @ W.T + b, scale @ np.abs(W).T + np.abs(b)
        if k < len(weights) - 1:
            h = np.maximum(h, 0)
    return h, scale


def _build(fw: Framework, build_mlp: Callable, widths: list[int], d: int) -> Any:
    if fw.key == "mindspore":
        return call(build_mlp, list(widths), d)
    return call(build_mlp, list(widths))


def _signature(fw: Framework, widths: list[int], d: int) -> str:
    return f"build_mlp({widths}, {d})" if fw.key == "mindspore" else f"build_mlp({widths})"


def _shape(fw: Framework, layer: Any) -> list[int] | None:
    shape = fw.shape(fw.weight(layer))
    return None if shape is None else list(shape)


def _run(fw: Framework, net: Any, X: np.ndarray, shown: str) -> np.ndarray | str:
    """The net's output on ``X``, or the failure message if the forward pass raised."""
    try:
        return fw.forward(net, X).astype(np.float32)
    except Exception as error:  # noqa: BLE001 - the learner's net may fail in any way
        hint = (
            " — did you call net.initialize()?"
            if fw.key == "mxnet" and "initialize" in str(error)
            else ""
        )
        return (
            f"{shown}: a forward pass on a batch of shape {shape_text(X.shape)} raised "
            f"{describe(error)}{hint}"
        )


def _message(value: Any) -> str:
    """A failure the probe saw (a forward pass raised): it can only cost the answer points."""
    require(isinstance(value, str) and value != "")
    return value


def _output_shape_failure(shown: str, d: int, out: int, got: tuple[int, ...]) -> str | None:
    if tuple(got) == (BATCH, out):
        return None
    return (
        f"{shown}: a batch of shape ({BATCH}, {d}) should give an output of shape "
        f"({BATCH}, {out}); got {shape_text(tuple(got))}"
    )


BUILD_MLP = Question("deferred.build_mlp", _probe_build_mlp, _judge_build_mlp)
check_build_mlp = BUILD_MLP.check_function("check_build_mlp", "public", _build_mlp_specs)
check_build_mlp_random = BUILD_MLP.check_function(
    "check_build_mlp_random", "random", _build_mlp_random_specs
)


# -- Parts B and C: the shapes before and after the first forward pass --------------------
def _shapes_before_specs(
    framework: str, widths: Sequence[int] = EXAMPLE_WIDTHS, d: int = EXAMPLE_D
) -> list[Spec]:
    """``shapes_before(widths, d)``: the weight shapes before any data has gone through."""
    return [{"widths": [int(w) for w in widths], "d": int(d)}]


def _shapes_before_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_shapes_before`` for widths and input sizes drawn at random."""
    return [
        spec for widths, d in _draws(trials) for spec in _shapes_before_specs(framework, widths, d)
    ]


def _shapes_after_specs(
    framework: str, widths: Sequence[int] = EXAMPLE_WIDTHS, d: int = EXAMPLE_D
) -> list[Spec]:
    """``shapes_after(widths, d)``: the weight shapes once a batch of d features went through."""
    return _shapes_before_specs(framework, widths, d)


def _shapes_after_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_shapes_after`` for widths and input sizes drawn at random."""
    return _shapes_before_random_specs(framework, trials)


def _probe_shapes(name: str) -> Callable[[Callable, str, Spec], dict]:
    """The probe of ``name(widths, d)``: the learner's list of shapes, as lists of ints."""

    def probe(answer: Callable, framework: str, spec: Spec) -> dict:
        widths, d = spec["widths"], spec["d"]
        shapes = _shapes(call(answer, list(widths), d), name, widths, d)
        return {"shapes": [None if s is None else list(s) for s in shapes]}

    return probe


def _judge_shapes_before(framework: str, spec: Spec, data: dict) -> str | None:
    fw = get(framework)
    widths, d = list(spec["widths"]), spec["d"]
    before, after = expected_shapes(framework, widths, d)
    got = _read_shapes(data["shapes"])
    if got == before:
        return None
    head = f"shapes_before({widths}, {d}) should be {_list(before)}; got {_list(got)}"
    if got == after or (len(got) == len(before) and got[0] == after[0]):
        return (
            f"{head}. Those are the shapes after the first forward pass: " f"{_BEFORE_WHY[fw.key]}"
        )
    if fw.key == "mindspore" and all(s is not None and s[-1] == 0 for s in got):
        return f"{head}. {_BEFORE_WHY[fw.key]}"
    if fw.key == "pytorch" and all(s is not None and s[-1] == 0 for s in got):
        return f"{head}. (n, 0) is how MXNet shows it; {_BEFORE_WHY[fw.key]}"
    return f"{head}. {_BEFORE_WHY[fw.key]}"


def _judge_shapes_after(framework: str, spec: Spec, data: dict) -> str | None:
    widths, d = list(spec["widths"]), spec["d"]
    _, after = expected_shapes(framework, widths, d)
    got = _read_shapes(data["shapes"])
    if got == after:
        return None
    head = f"shapes_after({widths}, {d}) should be {_list(after)}; got {_list(got)}"
    if len(got) == len(after) and all(s is not None and s == t[::-1] for s, t in zip(got, after)):
        return f"{head} — transposed: a dense weight has shape (outputs, inputs)"
    if len(got) == len(after) and all(s is not None and s[-1] == d for s in got):
        return (
            f"{head} — layer k > 0 receives the output of layer k - 1, not the net's "
            f"input: its input size is the previous width"
        )
    if len(got) != len(after):
        return f"{head} — one shape per dense layer, {len(after)} in all"
    return head


SHAPES_BEFORE = Question(
    "deferred.shapes_before", _probe_shapes("shapes_before"), _judge_shapes_before
)
check_shapes_before = SHAPES_BEFORE.check_function(
    "check_shapes_before", "public", _shapes_before_specs
)
check_shapes_before_random = SHAPES_BEFORE.check_function(
    "check_shapes_before_random", "random", _shapes_before_random_specs
)

SHAPES_AFTER = Question("deferred.shapes_after", _probe_shapes("shapes_after"), _judge_shapes_after)
check_shapes_after = SHAPES_AFTER.check_function(
    "check_shapes_after", "public", _shapes_after_specs
)
check_shapes_after_random = SHAPES_AFTER.check_function(
    "check_shapes_after_random", "random", _shapes_after_random_specs
)


def _shapes(value: Any, name: str, widths: Sequence[int], d: int) -> list[Any]:
    """The learner's list of shapes, each a tuple of ints or None."""
    expect(
        isinstance(value, (list, tuple)),
        f"{name}({list(widths)}, {d}) should return a list with one shape per layer; got "
        f"{type(value).__name__}",
    )
    shapes = []
    for item in value:
        shape = None if item is None else as_shape(item)
        expect(
            item is None or shape is not None,
            f"{name}({list(widths)}, {d}) should list shapes as tuples of ints (or None); "
            f"got {item!r}",
        )
        shapes.append(shape)
    return shapes


def _read_shapes(value: Any, count: int | None = None) -> list[Shape]:
    """Shapes as the probe sends them (lists of ints or None), back as tuples."""
    require(isinstance(value, list) and (count is None or len(value) == count))
    shapes: list[Shape] = []
    for item in value:
        require(
            item is None
            or isinstance(item, list)
            and all(isinstance(n, int) and not isinstance(n, bool) for n in item)
        )
        shapes.append(None if item is None else tuple(item))
    return shapes


def _list(shapes: Sequence[Any]) -> str:
    return "[" + ", ".join(shape_text(s) for s in shapes) + "]"
