"""Does the tying chapter's executed output show what its prose states?"""

from __future__ import annotations

import ast
import math

import pytest

from helpers.book_html import images_in_tabs, page
from helpers.chapter_facts import (
    FRAMEWORKS,
    chapter_page,
    figures_outside_tabs,
    named_numbers,
    number,
    numbers,
    tab_sets_with,
    value,
    values,
)

pytestmark = [pytest.mark.slow, pytest.mark.book]


@pytest.fixture(scope="module")
def html(built_book):
    return chapter_page(built_book, "tying")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_both_positions_of_the_shared_layer_hold_one_object(html, framework):
    output = tab_sets_with(html, "same object")[0].outputs[framework]
    assert value(output, "equal values") == "True"
    written = [line for line in output.splitlines() if line.startswith("after setting")]
    assert len(written) == 1 and numbers(written[0].split(": ")[-1]) == [100.0], written
    assert values(output, "same object") == ["True"]
    if framework == "mxnet":
        assert value(output, "reusing the block, same object") == "True"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_shared_parameters_are_listed_once(html, framework):
    output = tab_sets_with(html, "same object")[0].outputs[framework]
    for listing in values(output, "parameters"):
        names = ast.literal_eval(listing)
        assert len(names) == len(set(names)) == 6, names


def test_pytorch_keeps_the_first_name_and_mindspore_the_last(html):
    sets = tab_sets_with(html, "same object")[0].outputs
    assert "2.weight" in value(sets["pytorch"], "parameters")
    assert "4.weight" not in value(sets["pytorch"], "parameters")
    assert "4.weight" in value(sets["mindspore"], "parameters")
    assert "2.weight" not in value(sets["mindspore"], "parameters")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_tied_gradient_is_six_and_the_sum_of_the_per_use_gradients(html, framework):
    output = tab_sets_with(html, "tied gradient")[0].outputs[framework]
    assert number(output, "y") == 9
    tied = number(output, "tied gradient")
    per_use = numbers(value(output, "per-use gradients"))
    assert tied == 6
    assert per_use == [3.0, 3.0]
    assert number(output, "sum of per-use gradients") == sum(per_use) == tied


LAYERS = {"first", "shared", "output"}


def training(html, framework) -> dict[int, dict]:
    """Each printed training step: {step: {"loss": .., "first": {"weight": .., "gradient": ..}}}.

    A step prints `step 50: loss 0.040`, then a line per layer:
    `  first: weight norm 10.31, gradient norm 0.038`.
    """
    output = tab_sets_with(html, "training accuracy")[0].outputs[framework]
    steps: dict[int, dict] = {}
    current: dict = {}
    for line in output.splitlines():
        if line.startswith("step "):
            current = {"loss": named_numbers(line)["loss"]}
            steps[int(numbers(line)[0])] = current
        elif line.startswith("  ") and ": weight norm " in line:
            layer, norms = line.strip().split(": ", 1)
            weight, gradient = numbers(norms)
            current[layer] = {"weight": weight, "gradient": gradient}
    return steps


def gradient_norms(step: dict) -> dict[str, float]:
    return {layer: step[layer]["gradient"] for layer in LAYERS & set(step)}


def test_the_digits_are_1797_images_of_64_pixels_in_10_classes(html):
    """The untagged cell that loads them printed the same in every framework: once."""
    shared = [
        out.get_text()
        for out in page(html).select("div.cell_output")
        if "features:" in out.get_text()
    ]
    assert len(shared) == 1
    assert value(shared[0], "features") == "(1797, 64), classes: 10"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_training_with_a_shared_layer_learns_the_digits(html, framework):
    output = tab_sets_with(html, "training accuracy")[0].outputs[framework]
    steps = training(html, framework)
    assert sorted(steps) == [0, 50, 100, 149]
    assert steps[0]["loss"] == pytest.approx(math.log(10), abs=0.1)  # "about 2.3"
    losses = [steps[step]["loss"] for step in sorted(steps)]
    assert losses == sorted(losses, reverse=True) and len(set(losses)) == 4  # falls each time
    assert steps[149]["loss"] < 0.01
    assert number(output, "training accuracy") > 0.99
    for step in steps.values():  # every layer's weight and gradient is watched
        assert LAYERS <= set(step)
        assert all(step[layer]["weight"] > 0 for layer in LAYERS)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_gradient_norms_fall_below_a_tenth_of_their_first_value(html, framework):
    steps = training(html, framework)
    first, last = gradient_norms(steps[0]), gradient_norms(steps[149])
    assert set(first) == set(last) == LAYERS
    for layer in first:
        assert last[layer] < first[layer] / 10, layer


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_both_uses_of_the_shared_layer_report_one_gradient(html, framework):
    output = tab_sets_with(html, "training accuracy")[0].outputs[framework]
    assert number(output, "parameter tensors trained") == 6
    if framework == "pytorch":
        assert value(output, "same gradient tensor at both uses") == "True"
    elif framework == "mxnet":
        assert value(output, "same gradient array at both uses") == "True"
    else:
        assert value(output, "same parameter at both uses") == "True"
        assert number(output, "gradients per step") == 6


def test_each_framework_tab_draws_its_own_gradient_norm_figure(html):
    """The untagged plotting cell drew a different figure in each framework's run."""
    assert figures_outside_tabs(html) == 0
    assert images_in_tabs(html) == {framework: 1 for framework in FRAMEWORKS}
    training_set = tab_sets_with(html, "training accuracy")[0]
    assert all("ax.set_yscale" in training_set.sources[fw] for fw in FRAMEWORKS)


@pytest.mark.parametrize("framework", ["pytorch", "mindspore"])
def test_fixed_hidden_mlp_lists_only_the_linear_layer_once(html, framework):
    output = tab_sets_with(html, "linear.weight")[0].outputs[framework]
    listed = ast.literal_eval(value(output, "parameters"))
    assert listed == [("linear.weight", (20, 20)), ("linear.bias", (20,))]


def test_fancy_mlp_in_mxnet_lists_its_constant_without_a_gradient(html):
    output = tab_sets_with(html, "grad_req")[0].outputs["mxnet"]
    entries = [line.split() for line in output.splitlines() if "grad_req=" in line]
    by_requirement = {}
    for name, *_, requirement in entries:
        by_requirement.setdefault(requirement, []).append(name)
    assert len(entries) == 3
    assert [name.endswith("rand_weight") for name in by_requirement["grad_req=null"]] == [True]
    assert len(by_requirement["grad_req=write"]) == 2
