"""Do the deferred checks know each framework's shapes before and after the first batch?"""

from __future__ import annotations

import numpy as np
import pytest

from pmcheck import deferred, frameworks
from pmcheck.question import MALFORMED

FRAMEWORKS = frameworks.FRAMEWORKS
QUESTIONS = (deferred.BUILD_MLP, deferred.SHAPES_BEFORE, deferred.SHAPES_AFTER)


@pytest.mark.parametrize(
    "framework, before",
    [
        ("pytorch", [None, None, None]),
        ("mxnet", [(5, 0), (3, 0), (2, 0)]),
        ("mindspore", [(5, 7), (3, 5), (2, 3)]),
    ],
)
def test_reference_shapes_are_each_frameworks_own(framework, before):
    got_before, after = deferred.reference_shapes(frameworks.get(framework), [5, 3, 2], 7)
    assert got_before == before
    assert after == [(5, 7), (3, 5), (2, 3)]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_judges_shapes_are_those_of_the_frameworks_own_deferred_net(framework):
    """The judge derives the shapes from the sizes alone; each framework's net agrees."""
    specs = [
        *deferred.SHAPES_AFTER.specs("random", framework, trials=6),
        *deferred.SHAPES_AFTER.specs("public", framework),
    ]
    for spec in specs:
        widths, d = spec["widths"], spec["d"]
        assert deferred.expected_shapes(framework, widths, d) == deferred.reference_shapes(
            frameworks.get(framework), widths, d
        ), spec


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda question: question.key)
def test_hidden_trials_differ_in_depth_and_avoid_the_example(question):
    specs = question.specs("random", "pytorch", trials=3)
    assert len({len(spec["widths"]) for spec in specs}) == 3
    assert all(len(spec["widths"]) != 2 for spec in specs)


def test_shapes_may_be_lists():
    deferred.check_shapes_after(
        lambda widths, d: [[w, i] for w, i in zip(widths, [d, *widths])], "mindspore"
    )


def test_a_wrong_length_is_named():
    with pytest.raises(AssertionError, match="one shape per dense layer, 2 in all"):
        deferred.check_shapes_after(lambda widths, d: [(256, 20)], "pytorch")


@pytest.mark.parametrize(
    "shapes",
    [
        "[(256, 20), (10, 256)]",
        [[True, 20], [10, 256]],
        [[256.0, 20], [10, 256]],
        [(256, 20), "(10, 256)"],
    ],
)
def test_shapes_of_another_form_are_malformed(shapes):
    spec = deferred.SHAPES_AFTER.specs("public", "pytorch")[0]
    assert deferred.SHAPES_AFTER.verdict("pytorch", spec, {"shapes": shapes}) == MALFORMED


def _lazy_mlp(widths, relu_after_last=False):
    from torch import nn

    layers = []
    for width in widths:
        layers += [nn.LazyLinear(width), nn.ReLU()]
    return nn.Sequential(*(layers if relu_after_last else layers[:-1]))


def test_one_relu_too_many_is_caught_by_the_forward_check():
    with pytest.raises(AssertionError, match="is a ReLU missing, or one too many"):
        deferred.check_build_mlp(lambda widths: _lazy_mlp(widths, relu_after_last=True), "pytorch")


def _honest_report():
    spec = deferred.BUILD_MLP.specs("public", "pytorch")[0]
    data = deferred.BUILD_MLP.run_probe(_lazy_mlp, "pytorch", spec)
    assert deferred.BUILD_MLP.verdict("pytorch", spec, data) is None
    return spec, data


def test_a_forged_output_does_not_match_the_reported_weights():
    spec, data = _honest_report()
    verdict = deferred.BUILD_MLP.verdict
    message = verdict("pytorch", spec, {**data, "output": np.zeros_like(data["output"])})
    assert "is a ReLU missing, or one too many" in message
    other = {**spec, "X": deferred.BUILD_MLP.specs("public", "pytorch")[0]["X"]}
    assert "is a ReLU missing, or one too many" in verdict("pytorch", other, data)


def test_a_forged_build_report_of_another_form_is_malformed():
    spec, data = _honest_report()
    verdict = deferred.BUILD_MLP.verdict
    assert verdict("pytorch", spec, {"count": 2}) == MALFORMED
    assert verdict("pytorch", spec, {**data, "weights": data["weights"][:1]}) == MALFORMED
    wrong = [w.T for w in data["weights"]]
    assert verdict("pytorch", spec, {**data, "weights": wrong}) == MALFORMED
    assert verdict("pytorch", spec, {**data, "other": [3.0, 10.0]}) == MALFORMED


def test_the_forward_check_scales_with_the_net():
    """A deep net of tiny weights still tells a missing ReLU apart from float32 rounding."""
    gen = np.random.default_rng(3)
    widths, d = [6, 6, 6, 6, 2], 5
    weights = [
        (1e-3 * gen.normal(size=(w, i))).astype(np.float32) for w, i in zip(widths, [d, *widths])
    ]
    biases = [np.zeros(w, np.float32) for w in widths]
    X = gen.normal(size=(deferred.BATCH, d))
    spec = {"widths": widths, "d": d, "X": X}
    h, plain = X.astype(np.float32), X
    for k, W in enumerate(weights):
        h, plain = h @ W.T, plain @ W.T.astype(np.float64)
        if k < len(weights) - 1:
            h = np.maximum(h, 0)
    data = {
        "count": len(widths),
        "before": [[w, i] for w, i in zip(widths, [d, *widths])],
        "after": [[w, i] for w, i in zip(widths, [d, *widths])],
        "weights": weights,
        "biases": biases,
        "output": h,
    }
    assert np.abs(h).max() < 1e-10
    assert deferred.BUILD_MLP.verdict("mindspore", spec, data) is None
    message = deferred.BUILD_MLP.verdict("mindspore", spec, {**data, "output": plain})
    assert "is a ReLU missing, or one too many" in message
