"""Checks for the "deferred" assignment: weight shapes before and after the first forward pass.

MXNet shows a Dense layer without ``in_units`` as ``(n, 0)`` until data flows through it;
PyTorch's lazy layers hold an uninitialized parameter with no shape at all (``None`` here);
MindSpore has no deferred initialization, so every size is given and known up front.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.checks.common import as_shape, call, describe, expect, fail, rng, shape_text
from autograder.checks.frameworks import Framework, get

EXAMPLE_WIDTHS, EXAMPLE_D = (256, 10), 20

#: Why the shapes before the first forward pass are what they are, per framework.
_BEFORE_WHY = {
    "pytorch": ("a lazy layer's weight is an UninitializedParameter with no shape at all "
                "until the first forward pass, so each shape is None"),
    "mxnet": ("MXNet cannot know a layer's input size before it sees data: a Dense layer "
              "without in_units shows (n, 0) until the first forward pass"),
    "mindspore": ("MindSpore has no deferred initialization: every in_channels is given when "
                  "the net is built, so every shape is known at once"),
}


def _draws(trials: int) -> list[tuple[list[int], int]]:
    """Random widths and input sizes for the hidden trials.

    Each trial has a different number of layers (3, 4 or 5, never the example's 2), so
    that no fixed list of shapes passes them all.
    """
    gen = rng()
    start = int(gen.integers(0, 3))
    return [([int(v) for v in gen.integers(2, 65, size=3 + (start + trial) % 3)],
             int(gen.integers(2, 65))) for trial in range(trials)]


def reference_shapes(fw: Framework, widths: Sequence[int],
                     d: int) -> tuple[list[Any], list[Any]]:
    """The weight shapes of the framework's own deferred MLP, before and after a forward pass."""
    net = fw.deferred_mlp(list(widths), d)
    before = [fw.shape(fw.weight(layer)) for layer in fw.dense_layers(net)]
    fw.forward(net, np.zeros((2, d), np.float32))
    after = [fw.shape(fw.weight(layer)) for layer in fw.dense_layers(net)]
    return before, after


# -- Part A: build the MLP ---------------------------------------------------------------
def check_build_mlp(build_mlp: Callable, framework: str,
                    widths: Sequence[int] = EXAMPLE_WIDTHS, d: int = EXAMPLE_D) -> None:
    """``build_mlp`` gives one dense layer per width, input sizes as the framework wants them.

    PyTorch and MXNet: ``build_mlp(widths)`` must not fix the input size; the same code
    then serves inputs of any size. MindSpore: ``build_mlp(widths, d)`` gives every size.
    """
    fw = get(framework)
    widths = list(widths)
    net = _build(fw, build_mlp, widths, d)
    shown = _signature(fw, widths, d)
    _, after = reference_shapes(fw, widths, d)
    layers = fw.dense_layers(net)
    expect(len(layers) == len(widths),
           f"{shown} should have {len(widths)} dense layers, one per width; got {len(layers)}")
    first = fw.shape(fw.weight(layers[0]))
    if fw.key == "pytorch":
        expect(first is None,
               f"{shown}: before the first forward pass the first layer already has a weight "
               f"of shape {shape_text(first)}; use nn.LazyLinear so that the input size is "
               f"taken from the first batch")
    elif fw.key == "mxnet":
        expect(first is not None and first[-1] == 0,
               f"{shown}: before the first forward pass the first layer already has a weight "
               f"of shape {shape_text(first)}; leave in_units out so that MXNet takes the "
               f"input size from the first batch")
    else:
        shapes = [fw.shape(fw.weight(layer)) for layer in layers]
        expect(shapes == after,
               f"{shown}: the weight shapes should be {_list(after)} from the start (each "
               f"layer's in_channels is the previous layer's width, d for the first); got "
               f"{_list(shapes)}")
    _run(fw, net, d, shown, widths[-1])
    shapes = [fw.shape(fw.weight(layer)) for layer in layers]
    expect(shapes == after,
           f"{shown}: after a forward pass with {d} input features the weight shapes should "
           f"be {_list(after)}; got {_list(shapes)}")
    if fw.key != "mindspore":
        other = d + 7
        _run(fw, _build(fw, build_mlp, widths, other), other, shown, widths[-1])


def check_build_mlp_random(build_mlp: Callable, framework: str, trials: int = 3) -> None:
    """``check_build_mlp`` for widths and input sizes drawn at random."""
    for widths, d in _draws(trials):
        check_build_mlp(build_mlp, framework, widths, d)


def _build(fw: Framework, build_mlp: Callable, widths: list[int], d: int) -> Any:
    if fw.key == "mindspore":
        return call(build_mlp, list(widths), d)
    return call(build_mlp, list(widths))


def _signature(fw: Framework, widths: list[int], d: int) -> str:
    return f"build_mlp({widths}, {d})" if fw.key == "mindspore" else f"build_mlp({widths})"


def _run(fw: Framework, net: Any, d: int, shown: str, out: int) -> None:
    try:
        y = fw.forward(net, np.random.default_rng().normal(size=(3, d)))
    except Exception as error:  # noqa: BLE001 - the learner's net may fail in any way
        hint = (" — did you call net.initialize()?"
                if fw.key == "mxnet" and "initialize" in str(error) else "")
        fail(f"{shown}: a forward pass on a batch of shape (3, {d}) raised "
             f"{describe(error)}{hint}")
    expect(y.shape == (3, out),
           f"{shown}: a batch of shape (3, {d}) should give an output of shape (3, {out}); got "
           f"{shape_text(tuple(y.shape))}")


# -- Parts B and C: the shapes before and after the first forward pass --------------------
def check_shapes_before(shapes_before: Callable, framework: str,
                        widths: Sequence[int] = EXAMPLE_WIDTHS, d: int = EXAMPLE_D) -> None:
    """``shapes_before(widths, d)``: the weight shapes before any data has gone through."""
    fw = get(framework)
    before, after = reference_shapes(fw, widths, d)
    got = _shapes(call(shapes_before, list(widths), d), "shapes_before", widths, d)
    if got == before:
        return
    head = (f"shapes_before({list(widths)}, {d}) should be {_list(before)}; got {_list(got)}")
    if got == after or (len(got) == len(before) and got[0] == after[0]):
        fail(f"{head}. Those are the shapes after the first forward pass: "
             f"{_BEFORE_WHY[fw.key]}")
    if fw.key == "mindspore" and all(s is not None and s[-1] == 0 for s in got):
        fail(f"{head}. {_BEFORE_WHY[fw.key]}")
    if fw.key == "pytorch" and all(s is not None and s[-1] == 0 for s in got):
        fail(f"{head}. (n, 0) is how MXNet shows it; {_BEFORE_WHY[fw.key]}")
    fail(f"{head}. {_BEFORE_WHY[fw.key]}")


def check_shapes_before_random(shapes_before: Callable, framework: str, trials: int = 3) -> None:
    """``check_shapes_before`` for widths and input sizes drawn at random."""
    for widths, d in _draws(trials):
        check_shapes_before(shapes_before, framework, widths, d)


def check_shapes_after(shapes_after: Callable, framework: str,
                       widths: Sequence[int] = EXAMPLE_WIDTHS, d: int = EXAMPLE_D) -> None:
    """``shapes_after(widths, d)``: the weight shapes once a batch of d features went through."""
    fw = get(framework)
    _, after = reference_shapes(fw, widths, d)
    got = _shapes(call(shapes_after, list(widths), d), "shapes_after", widths, d)
    if got == after:
        return
    head = f"shapes_after({list(widths)}, {d}) should be {_list(after)}; got {_list(got)}"
    if len(got) == len(after) and all(s is not None and s == t[::-1] for s, t in zip(got, after)):
        fail(f"{head} — transposed: a dense weight has shape (outputs, inputs)")
    if len(got) == len(after) and all(s is not None and s[-1] == d for s in got):
        fail(f"{head} — layer k > 0 receives the output of layer k - 1, not the net's input: "
             f"its input size is the previous width")
    if len(got) != len(after):
        fail(f"{head} — one shape per dense layer, {len(after)} in all")
    fail(head)


def check_shapes_after_random(shapes_after: Callable, framework: str, trials: int = 3) -> None:
    """``check_shapes_after`` for widths and input sizes drawn at random."""
    for widths, d in _draws(trials):
        check_shapes_after(shapes_after, framework, widths, d)


def _shapes(value: Any, name: str, widths: Sequence[int], d: int) -> list[Any]:
    """The learner's list of shapes, each a tuple of ints or None."""
    expect(isinstance(value, (list, tuple)),
           f"{name}({list(widths)}, {d}) should return a list with one shape per layer; got "
           f"{type(value).__name__}")
    shapes = []
    for item in value:
        shape = None if item is None else as_shape(item)
        expect(item is None or shape is not None,
               f"{name}({list(widths)}, {d}) should list shapes as tuples of ints (or None); "
               f"got {item!r}")
        shapes.append(shape)
    return shapes


def _list(shapes: Sequence[Any]) -> str:
    return "[" + ", ".join(shape_text(s) for s in shapes) + "]"
