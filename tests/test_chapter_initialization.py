"""Does the initialization chapter's executed output show what its prose states?"""

from __future__ import annotations

import math

import pytest

from helpers.book_html import images_in_tabs, outputs_of, page
from helpers.chapter_facts import (
    FRAMEWORKS,
    chapter_page,
    figures_outside_tabs,
    named_numbers,
    number,
    numbers,
    tab_sets_with,
    value,
)

pytestmark = [pytest.mark.slow, pytest.mark.book]

FAN_IN = 1000
ROUNDING = 1e-4  # the chapter prints four decimals


@pytest.fixture(scope="module")
def html(built_book):
    return chapter_page(built_book, "initialization")


def default_draws(html, framework):
    output = tab_sets_with(html, "std·√3")[0].outputs[framework]
    return named_numbers(value(output, "weight")), named_numbers(value(output, "bias"))


@pytest.mark.parametrize("framework", ["pytorch", "mindspore"])
def test_default_weight_and_bias_are_uniform_within_one_over_sqrt_fan_in(html, framework):
    bound = 1 / math.sqrt(FAN_IN)
    output = tab_sets_with(html, "std·√3")[0].outputs[framework]
    assert number(output, "1/sqrt(fan_in)") == pytest.approx(bound, abs=ROUNDING)
    weight, bias = default_draws(html, framework)
    # 500,000 uniform draws reach to within a hair of both ends of the interval.
    assert weight["min"] == pytest.approx(-bound, abs=2 * ROUNDING)
    assert weight["max"] == pytest.approx(bound, abs=2 * ROUNDING)
    assert weight["std·√3"] == pytest.approx(bound, rel=0.02)
    # 500 bias draws: inside the bound, and spread over most of it.
    assert -bound - ROUNDING <= bias["min"] < -0.9 * bound
    assert 0.9 * bound < bias["max"] <= bound + ROUNDING


def test_mxnet_default_is_uniform_007_with_zero_bias(html):
    weight, bias = default_draws(html, "mxnet")
    assert weight["min"] == pytest.approx(-0.07, abs=2 * ROUNDING)
    assert weight["max"] == pytest.approx(0.07, abs=2 * ROUNDING)
    assert weight["std·√3"] == pytest.approx(0.07, rel=0.02)
    assert bias == {"min": 0.0, "max": 0.0}


def test_prose_states_the_measured_bounds(html):
    prose = page(html).get_text()
    pytorch_bound = number(tab_sets_with(html, "std·√3")[0].outputs["pytorch"], "1/sqrt(fan_in)")
    assert f"{pytorch_bound:.4f}" in prose  # "within ±0.0316"
    assert "U(-0.07, 0.07)" in prose
    assert "0.7071" in prose  # the Xavier bound for 4 inputs and 8 outputs


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_normal_initializer_gives_small_weights_and_zero_bias(html, framework):
    output = tab_sets_with(html, "std of net[0].weight")[0].outputs[framework]
    # 32 draws of N(0, 0.01): the sample standard deviation is near 0.01, not exact.
    assert 0.005 < number(output, "std of net[0].weight") < 0.02
    assert all(abs(w) < 0.05 for w in numbers(value(output, "net[0].weight[0]")))
    assert number(output, "net[0].bias[0]") == 0


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_constant_initializer_sets_ones_and_zero_bias(html, framework):
    normal, constant = tab_sets_with(html, "net[0].bias[0]")[:2]
    output = constant.outputs[framework]
    assert numbers(value(output, "net[0].weight[0]")) == [1.0, 1.0, 1.0, 1.0]
    assert number(output, "net[0].bias[0]") == 0


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_output_layer_is_42s_and_first_layer_within_xavier_bound(html, framework):
    output = tab_sets_with(html, "output weight")[0].outputs[framework]
    assert numbers(value(output, "output weight")) == [42.0] * 8
    xavier_bound = math.sqrt(6 / (4 + 8))
    largest = number(output, "largest |net[0].weight|")
    assert 0 < largest <= xavier_bound
    assert all(abs(w) <= xavier_bound for w in numbers(value(output, "net[0].weight[0]")))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_custom_initializer_draws_half_zeros_and_magnitudes_from_5_to_10(html, framework):
    output = tab_sets_with(html, "fraction zero")[0].outputs[framework]
    # 500,000 draws: the standard error of each fraction is below 0.001.
    assert number(output, "fraction zero") == pytest.approx(0.5, abs=0.01)
    assert number(output, "fraction in [5, 10]") == pytest.approx(0.25, abs=0.01)
    assert number(output, "fraction in [-10, -5]") == pytest.approx(0.25, abs=0.01)
    magnitudes = named_numbers(value(output, "nonzero magnitudes"))
    assert 5 <= magnitudes["min"] and magnitudes["max"] <= 10


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_custom_initializer_fills_the_weights_of_both_layers_and_no_bias(html, framework):
    init_lines = [
        line for line in outputs_of(html, framework).splitlines() if line.startswith("Init ")
    ]
    assert any(line.endswith("(8, 4)") for line in init_lines), init_lines
    assert any(line.endswith("(1, 8)") for line in init_lines), init_lines
    assert all("weight" in line for line in init_lines), init_lines


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_setting_directly_adds_one_and_writes_42(html, framework):
    output = tab_sets_with(html, "row 0 before")[0].outputs[framework]
    before = numbers(value(output, "row 0 before"))
    after = numbers(value(output, "row 0 after"))
    assert len(before) == len(after) == 4
    assert after[0] == 42
    assert after[1:] == pytest.approx([b + 1 for b in before[1:]], abs=1e-5)


def test_each_framework_tab_draws_its_own_two_histograms(html):
    """The untagged histogram cells drew their own framework's weights in each run."""
    assert figures_outside_tabs(html) == 0
    assert images_in_tabs(html) == {framework: 2 for framework in FRAMEWORKS}
