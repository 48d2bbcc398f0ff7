"""Does the deferred-initialization chapter's executed output show what its prose states?"""

from __future__ import annotations

import ast
import math

import pytest

from helpers.chapter_facts import FRAMEWORKS, chapter_page, number, numbers, tab_sets_with, value

pytestmark = [pytest.mark.slow, pytest.mark.book]


def shape(text: str) -> tuple[int, ...]:
    return tuple(ast.literal_eval(text))


@pytest.fixture(scope="module")
def html(built_book):
    return chapter_page(built_book, "deferred")


def test_mxnet_weights_have_zero_inputs_before_the_first_pass(html):
    output = tab_sets_with(html, "before the first pass")[0].outputs["mxnet"]
    assert shape(value(output, "first layer weight shape before the first pass")) == (256, 0)
    # The biases do not depend on the input size: they have their shapes already.
    assert "(shape=(10, 0)" in output
    assert "(shape=(256,)" in output and "(shape=(10,)" in output


def test_pytorch_lazy_weight_is_an_uninitialized_parameter_before_the_first_pass(html):
    output = tab_sets_with(html, "before the first pass")[0].outputs["pytorch"]
    assert value(output, "first layer weight before the first pass") == "<UninitializedParameter>"
    assert "LazyLinear(in_features=0, out_features=256" in output


def test_mindspore_requires_the_input_size(html):
    output = tab_sets_with(html, "before the first pass")[0].outputs["mindspore"]
    assert "TypeError" in output
    assert "missing 1 required positional argument: 'out_channels'" in output


def test_reading_values_before_the_first_pass_raises_where_initialization_defers(html):
    errors = tab_sets_with(html, "DeferredInitializationError")[0]
    assert "Can't access the shape of an uninitialized parameter" in errors.outputs["pytorch"]
    assert "DeferredInitializationError: Parameter 'dense0_weight'" in errors.outputs["mxnet"]


def test_mindspore_tab_says_it_has_no_counterpart_and_reads_the_values_at_once(html):
    errors = tab_sets_with(html, "DeferredInitializationError")[0]
    assert "No counterpart in MindSpore" in errors.sources["mindspore"]
    output = errors.outputs["mindspore"]
    assert shape(value(output, "weight shape right after construction")) == (256, 20)
    assert len(numbers(value(output, "its first values"))) == 3


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_shapes_after_the_first_pass_come_from_the_data(html, framework):
    output = tab_sets_with(html, "output layer weight shape: (10, 256)")[0].outputs[framework]
    suffix = "" if framework == "mindspore" else " after the first pass"
    assert shape(value(output, f"first layer weight shape{suffix}")) == (256, 20)
    assert shape(value(output, f"output layer weight shape{suffix}")) == (10, 256)


def test_pytorch_turns_lazy_layers_into_linear_layers(html):
    output = tab_sets_with(html, "after the first pass")[0].outputs["pytorch"]
    assert "Linear(in_features=20, out_features=256" in output
    assert "Lazy" not in output


def test_pytorch_and_mxnet_can_also_wait_with_the_values_but_not_the_shapes(html):
    outputs = tab_sets_with(html, "values still to be drawn")[0].outputs
    pytorch, mxnet = outputs["pytorch"], outputs["mxnet"]
    assert shape(value(pytorch, "first layer weight shape")) == (256, 20)
    assert value(pytorch, "values still to be drawn") == "True"
    assert value(pytorch, "values still to be drawn after reset_parameters") == "False"
    assert shape(value(mxnet, "first layer weight shape")) == (256, 20)
    assert value(mxnet, "reading the values before initialize") == "RuntimeError"
    assert len(numbers(value(mxnet, "first values after initialize"))) == 3


def test_mindspore_defers_the_values_not_the_shapes(html):
    output = tab_sets_with(html, "values still to be drawn")[0].outputs["mindspore"]
    assert shape(value(output, "first layer weight shape")) == (256, 20)
    assert value(output, "values still to be drawn") == "True"
    assert value(output, "initializer waiting to draw them") == "HeUniform"
    assert number(output, "its negative slope") == pytest.approx(math.sqrt(5), abs=1e-4)
    assert value(output, "values still to be drawn after init_parameters_data") == "False"


def test_giving_only_the_first_input_size_initializes_only_the_first_layer(html):
    outputs = tab_sets_with(html, "output layer weight shape before the first pass")[0].outputs
    for framework in FRAMEWORKS:
        first = value(outputs[framework], "first layer weight shape before the first pass")
        assert shape(first) == (256, 20), framework
    assert (
        value(outputs["pytorch"], "output layer weight before the first pass")
        == "<UninitializedParameter>"
    )
    assert shape(value(outputs["mxnet"], "output layer weight shape before the first pass")) == (
        10,
        0,
    )
    for framework in ("pytorch", "mxnet"):
        after = value(outputs[framework], "output layer weight shape after the first pass")
        assert shape(after) == (10, 256), framework
    before = value(outputs["mindspore"], "output layer weight shape before the first pass")
    assert shape(before) == (10, 256)


def test_mismatched_sizes_fail_in_every_framework(html):
    errors = tab_sets_with(html, "MXNetError")[0].outputs
    assert "mat1 and mat2 shapes cannot be multiplied (2x30 and 20x256)" in errors["pytorch"]
    assert "Shape inconsistent" in errors["mxnet"]
    assert "'x1_col': 30 and 'x2_row': 20" in errors["mindspore"]
