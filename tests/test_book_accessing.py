"""Does the built "Accessing parameters" page show, in all three frameworks, what its prose says?"""

from __future__ import annotations

import re

import pytest

from helpers.book_html import page, tab_sets
from helpers.chapter_facts import FRAMEWORKS

pytestmark = [pytest.mark.slow, pytest.mark.book]


@pytest.fixture(scope="module")
def accessing(built_book):
    return built_book / "book" / "accessing.html"


@pytest.fixture(scope="module")
def sets(accessing):
    return tab_sets(accessing)


def outputs_with(sets, framework: str, needle: str) -> str:
    """The output of the one tab of `framework` that contains `needle`."""
    matches = [ts.outputs[framework] for ts in sets if needle in ts.outputs.get(framework, "")]
    assert matches, f"no {framework} output contains {needle!r}"
    return matches[0]


def test_every_tab_set_has_all_three_frameworks_in_order(sets):
    assert len(sets) >= 10
    for ts in sets:
        assert ts.frameworks == list(FRAMEWORKS)
        assert ts.labels == ["PyTorch", "MXNet", "MindSpore"]
        assert ts.sync_groups == {"framework"}


def test_the_network_runs_on_a_minibatch_of_two_in_each_framework(sets):
    forward = sets[1].outputs
    assert "grad_fn=<AddmmBackward0>" in forward["pytorch"]
    assert "<NDArray 2x1 @cpu(0)>" in forward["mxnet"]
    assert "Tensor(shape=[2, 1]" in forward["mindspore"]


def test_one_layer_lists_a_weight_of_shape_1_by_8_and_a_bias(sets):
    layer = sets[2].outputs
    assert "('weight', tensor([[" in layer["pytorch"] and "('bias', tensor([" in layer["pytorch"]
    assert "Parameter dense1_weight (shape=(1, 8)" in layer["mxnet"]
    assert "Parameter dense1_bias (shape=(1,)" in layer["mxnet"]
    assert "name=2.weight, shape=(1, 8)" in layer["mindspore"]
    assert "name=2.bias, shape=(1,)" in layer["mindspore"]


def test_a_parameter_is_an_instance_of_the_parameter_class(sets):
    targeted = sets[3].outputs
    assert "<class 'torch.nn.parameter.Parameter'>" in targeted["pytorch"]
    assert "<class 'mxnet.gluon.parameter.Parameter'>" in targeted["mxnet"]
    assert "<class 'abc.Parameter'>" in targeted["mindspore"]


def test_gradient_before_backward_is_none_zeros_or_absent_then_two(sets):
    pt = outputs_with(sets, "pytorch", "gradient before backward")
    assert "gradient before backward: None" in pt
    assert "gradient after backward: tensor([2.])" in pt
    mx = outputs_with(sets, "mxnet", "gradient before backward")
    before, after = mx.split("gradient after backward:")
    assert re.search(r"\[0\.\]", before) and re.search(r"\[2\.\]", after)
    ms = outputs_with(sets, "mindspore", "has a .grad attribute")
    assert "has a .grad attribute: False" in ms
    assert "value= [ 2.00000000e+00]" in ms


def test_all_parameters_are_named_by_path_or_by_creating_layer(sets):
    pt = outputs_with(sets, "pytorch", "('0.weight'")
    for name, shape in [
        ("0.weight", "[8, 4]"),
        ("0.bias", "[8]"),
        ("2.weight", "[1, 8]"),
        ("2.bias", "[1]"),
    ]:
        assert f"('{name}', torch.Size({shape}))" in pt
    mx = outputs_with(sets, "mxnet", "sequential0_")
    for name, shape in [
        ("dense0_weight", "(8, 4)"),
        ("dense0_bias", "(8,)"),
        ("dense1_weight", "(1, 8)"),
        ("dense1_bias", "(1,)"),
    ]:
        assert f"Parameter {name} (shape={shape}" in mx
    ms = outputs_with(sets, "mindspore", "('0.weight'")
    for name, shape in [
        ("0.weight", "(8, 4)"),
        ("0.bias", "(8,)"),
        ("2.weight", "(1, 8)"),
        ("2.bias", "(1,)"),
    ]:
        assert f"('{name}', {shape})" in ms


def test_regular_expression_keeps_only_the_weights(sets):
    selected = outputs_with(sets, "mxnet", "NDArray 1 @cpu(0)>\nsequential0_")
    selected = selected.split("sequential0_")[-1]
    assert "dense0_weight" in selected and "dense1_weight" in selected
    assert "bias" not in selected
    assert "['0.weight', '2.weight']" in outputs_with(sets, "pytorch", "['0.weight'")
    assert "['0.weight', '2.weight']" in outputs_with(sets, "mindspore", "['0.weight'")


def test_nested_network_prints_its_tree_and_indexing_reaches_a_deep_layer(sets):
    assert "(block 3): Sequential(" in outputs_with(sets, "pytorch", "(block 0)")
    assert "Dense(8 -> 4, Activation(relu))" in outputs_with(sets, "mxnet", "(3): Sequential(")
    assert "SequentialCell(" in outputs_with(sets, "mindspore", "(3): SequentialCell(")
    pt = outputs_with(sets, "pytorch", "bias (8,)")
    assert "0.block 1.0.bias (8,)" in pt
    mx = outputs_with(sets, "mxnet", "_bias (8,)")
    # MXNet's name comes from a program-wide counter of layers, not from the path.
    assert re.search(r"dense\d+_bias \(8,\)", mx)
    assert "0.1.0.bias (8,)" in outputs_with(sets, "mindspore", "0.1.0.bias")


def test_only_the_registered_parameter_is_listed(sets):
    assert "['weight1']" in outputs_with(sets, "pytorch", "weight1")
    assert "['mymodel0_weight1']" in outputs_with(sets, "mxnet", "weight1")
    assert "['weight1']" in outputs_with(sets, "mindspore", "weight1")
    for framework in FRAMEWORKS:
        assert "weight2" not in outputs_with(sets, framework, "weight1")


def test_the_naming_table_states_what_each_tab_prints(accessing, sets):
    tables = [
        table
        for table in page(accessing).select("table")
        if table.find_parent("div", class_="cell_output") is None
    ]
    assert len(tables) == 1
    rows = [
        [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
        for row in tables[0].find_all("tr")
    ]
    assert rows[0][1:] == ["PyTorch", "MXNet", "MindSpore"]
    printed = outputs_with(sets, "pytorch", "hidden weight:")
    roles = [line.split(":")[0] for line in printed.strip().splitlines()]
    assert (
        [row[0] for row in rows[1:]]
        == roles
        == ["hidden weight", "hidden bias", "output weight", "output bias"]
    )
    for column, framework in enumerate(FRAMEWORKS, start=1):
        lines = outputs_with(sets, framework, "hidden weight:").strip().splitlines()
        assert [row[column] for row in rows[1:]] == [line.split(": ", 1)[1] for line in lines]
    assert rows[1] == [
        "hidden weight",
        "0.weight (8, 4)",
        "dense0_weight (8, 4)",
        "0.weight (8, 4)",
    ]


def test_intro_explains_the_tabs_and_links_the_chapter(built_book):
    intro = page(built_book / "book" / "intro.html")
    text = intro.get_text(" ")
    assert "?framework=mindspore" in text
    assert intro.find("a", href=re.compile(r"accessing\.html"))


def test_page_links_one_notebook_per_framework_and_the_zips(accessing):
    links = page(accessing).select("p.framework-downloads a")
    assert [a.get_text() for a in links] == ["PyTorch", "MXNet", "MindSpore"] * 2
    for link, framework in zip(links, FRAMEWORKS):
        assert (accessing.parent / link["href"]).is_file(), link["href"]
        assert link["href"].endswith(f"book_accessing_{framework}.ipynb")
    for link, framework in zip(links[3:], FRAMEWORKS):
        assert (accessing.parent / link["href"]).is_file(), link["href"]
        assert link["href"].endswith(f"parameter-management-{framework}.zip")
