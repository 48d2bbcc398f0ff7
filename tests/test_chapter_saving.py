"""Does the saving chapter's executed output show what its prose states?"""

from __future__ import annotations

import ast
import re

import pytest

from helpers.book_html import images_in_tabs, page
from helpers.chapter_facts import (
    FRAMEWORKS,
    chapter_page,
    figures_outside_tabs,
    named_numbers,
    number,
    tab_sets_with,
    value,
    values,
)

pytestmark = [pytest.mark.slow, pytest.mark.book]

# The tolerance the chapter states for the logits of a moved model.
LOGIT_TOLERANCE = 1e-4
# What each framework's own file holds for the chapter's first network, in its own order.
SAVED_NAMES = {
    "pytorch": [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
        "3.weight",
        "3.bias",
    ],
    "mxnet": [
        "0.weight",
        "0.bias",
        "1.gamma",
        "1.beta",
        "1.running_mean",
        "1.running_var",
        "3.weight",
        "3.bias",
    ],
    "mindspore": [
        "0.weight",
        "0.bias",
        "1.moving_mean",
        "1.moving_variance",
        "1.gamma",
        "1.beta",
        "3.weight",
        "3.bias",
    ],
}
# The name map from PyTorch's names each tab prints, for the digits network.
NAME_MAPS = {
    "pytorch": {
        name: name
        for name in [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked",
            "5.weight",
            "5.bias",
        ]
    },
    "mxnet": {
        "0.weight": "0.weight",
        "0.bias": "0.bias",
        "1.weight": "1.gamma",
        "1.bias": "1.beta",
        "1.running_mean": "1.running_mean",
        "1.running_var": "1.running_var",
        "5.weight": "5.weight",
        "5.bias": "5.bias",
    },
    "mindspore": {
        "0.weight": "0.weight",
        "0.bias": "0.bias",
        "1.weight": "1.gamma",
        "1.bias": "1.beta",
        "1.running_mean": "1.moving_mean",
        "1.running_var": "1.moving_variance",
        "5.weight": "5.weight",
        "5.bias": "5.bias",
    },
}


@pytest.fixture(scope="module")
def html(built_book):
    return chapter_page(built_book, "saving")


def outputs(html, text: str) -> dict[str, str]:
    """The outputs of the first tab set that printed `text` in some framework."""
    return tab_sets_with(html, text)[0].outputs


def listing(output: str, after: str) -> list[tuple[str, ...]]:
    """The indented `name shape [dtype]` lines that follow the line starting with `after`."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(after)) + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        name, rest = line.strip().split(" ", 1)
        rows.append((name, rest))
    return rows


def shared_output(html, text: str) -> str:
    """The output of the one untagged cell, shown once outside the tabs, that printed text."""
    found = [
        out.get_text()
        for out in page(html).select("div.cell_output")
        if text in out.get_text() and out.find_parent("div", class_="sd-tab-set") is None
    ]
    assert len(found) == 1, f"{len(found)} shared outputs contain {text!r}"
    return found[0]


def tab_tables(html) -> list[dict[str, list[list[str]]]]:
    """Per tab set with a table in its outputs: framework -> the rows of its first table."""
    found = []
    for tab_set in page(html).select("div.sd-tab-set.framework-tabs"):
        labels = tab_set.find_all("label", class_="sd-tab-label", recursive=False)
        contents = tab_set.find_all("div", class_="sd-tab-content", recursive=False)
        tables = {}
        for label, content in zip(labels, contents):
            table = content.select_one("div.cell_output table")
            if table is not None:
                tables[label["data-sync-id"]] = rows_of(table)
        if tables:
            found.append(tables)
    return found


def rows_of(table) -> list[list[str]]:
    return [
        [cell.get_text(strip=True) for cell in row.find_all(["td", "th"])]
        for row in table.select("tr")
    ]


def text_table(html) -> list[list[str]]:
    """The three-column name table the chapter's text gives, header first."""
    for table in page(html).select("table"):
        if table.find_parent("div", class_="sd-tab-set") is None:
            rows = rows_of(table)
            if rows[0][1:4] == ["PyTorch", "MXNet", "MindSpore"]:
                return rows
    raise AssertionError("the text has no table of names by framework")


# Saving in each framework's own format


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_reloaded_network_gives_exactly_the_same_outputs(html, framework):
    output = outputs(html, "largest difference after reload")[framework]
    assert number(output, "largest difference after reload") == 0
    if framework == "mindspore":
        assert value(output, "not loaded (network, file)") == "([], [])"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_file_holds_names_and_arrays_batchnorm_statistics_included(html, framework):
    output = outputs(html, "the file holds")[framework]
    kind = {
        "pytorch": "OrderedDict of Tensor",
        "mxnet": "dict of NDArray",
        "mindspore": "dict of Parameter",
    }[framework]
    assert value(output, "the file holds") == kind
    assert [name for name, _ in listing(output, "the file holds")] == SAVED_NAMES[framework]
    assert value(output, "running mean restored") == "True"
    assert value(output, "running mean moved from 0") == "True"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_network_of_another_shape_does_not_take_the_file(html, framework):
    output = outputs(html, "loading into a wider network")[framework]
    expected = {"pytorch": "RuntimeError", "mxnet": "AssertionError", "mindspore": "RuntimeError"}
    assert value(output, "loading into a wider network") == expected[framework]
    assert re.search(r"\(?8, 4\)?", output) and re.search(r"\(?10, 4\)?", output), output
    if framework == "mindspore":  # its own log line to stderr is hidden
        assert "CRITICAL" not in output


def test_the_page_shows_no_log_lines(html):
    text = page(html).get_text()
    assert "[CRITICAL]" not in text and "[WARNING]" not in text and "[ERROR]" not in text


# The neutral format


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_npz_file_keeps_the_names_and_round_trips_exactly(html, framework):
    output = outputs(html, "largest difference after the .npz round trip")[framework]
    rows = [line.split() for line in output.splitlines() if line.startswith("  ")]
    assert [row[0] for row in rows] == SAVED_NAMES[framework]
    dtypes = {row[0]: row[-1] for row in rows}
    assert all(
        dtype == ("int64" if name.endswith("num_batches_tracked") else "float32")
        for name, dtype in dtypes.items()
    ), dtypes
    assert number(output, "largest difference after the .npz round trip") == 0


# The naming table


def test_the_text_table_is_what_each_tab_saved(html):
    """Every row of the side-by-side table in the text is a row of that framework's tab."""
    rows = text_table(html)[1:]
    tables = next(t for t in tab_tables(html) if "LSTM" in str(t.get("pytorch")))
    for column, framework in enumerate(FRAMEWORKS, start=1):
        executed = [tuple(row) for row in tables[framework][1:]]
        stated = [(row[0], row[column], row[4]) for row in rows if row[column]]
        assert sorted(stated) == sorted(executed), framework


def test_the_text_table_covers_the_five_layers_and_the_issue_names(html):
    rows = text_table(html)[1:]
    assert {row[0] for row in rows} == {"Dense", "Conv2d", "BatchNorm", "Embedding", "LSTM"}
    by_name = {row[1]: row for row in rows}
    assert by_name["running_var"][1:4] == ["running_var", "running_var", "moving_variance"]
    assert ["Embedding", "weight", "weight", "embedding_table"] in [row[:4] for row in rows]
    assert by_name["weight_ih_l0"][2] == "_unfused.0.i2h_weight"


def layout_checks(html) -> str:
    """The shared cell's checks printed the same in every framework, so they show once."""
    assert not tab_sets_with(html, "LSTM gate orders")
    return shared_output(html, "LSTM gate orders")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_layouts_are_checked_by_computing_the_layers(html, framework):
    output = layout_checks(html)
    assert value(output, "Dense computes x @ weight.T + bias, weight (outputs, inputs)") == "True"
    assert value(output, "Conv2d weight is (outputs, inputs, height, width)") == "True"
    assert value(output, "Embedding row k is the vector of token k") == "True"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_exactly_one_lstm_gate_order_reproduces_each_framework(html, framework):
    output = layout_checks(html)
    assert ast.literal_eval(value(output, "LSTM gate orders that reproduce the output")) == ["ifgo"]


# The traps


TRAPS = {
    "pytorch": {
        "BatchNorm": "momentum=0.1, eps=1e-05",
        "LayerNorm": "eps=1e-05",
        "Conv2d": "padding=0, bias=True",
        "divides": "n - 1",
    },
    "mxnet": {
        "BatchNorm": "momentum=0.9, epsilon=1e-05",
        "LayerNorm": "epsilon=1e-05",
        "Conv2d": "padding=(0, 0), use_bias=True",
        "divides": "n",
    },
    "mindspore": {
        "BatchNorm": "momentum=0.9, eps=1e-05",
        "LayerNorm": "epsilon=1e-07",
        "Conv2d": "pad_mode='same', has_bias=False",
        "divides": "n - 1",
    },
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_defaults_of_momentum_epsilon_and_convolution(html, framework):
    output = outputs(html, "weight of the new batch")[framework]
    for layer in ("BatchNorm", "LayerNorm", "Conv2d"):
        assert value(output, layer) == TRAPS[framework][layer]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_new_batch_gets_a_weight_of_a_tenth_everywhere(html, framework):
    """0.1 in PyTorch's momentum, 0.9 in MXNet's and MindSpore's: the meanings are opposite."""
    output = outputs(html, "weight of the new batch")[framework]
    assert number(output, "weight of the new batch in the running mean") == pytest.approx(0.1)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_mxnet_alone_divides_the_running_variance_by_n(html, framework):
    output = outputs(html, "weight of the new batch")[framework]
    divisor, taken = value(output, "running variance divides by").split(" (took in ")
    assert divisor == TRAPS[framework]["divides"]
    assert float(taken.rstrip(")")) == pytest.approx(3.5 if divisor == "n" else 14 / 3, abs=1e-4)


def test_mxnet_updates_the_statistics_in_the_backward_pass(html):
    output = outputs(html, "weight of the new batch")["mxnet"]
    assert number(output, "running mean after the forward pass") == 0


def test_mindspore_stores_the_converted_momentum(html):
    output = outputs(html, "weight of the new batch")["mindspore"]
    assert number(output, "momentum attribute of a layer made with the default") == pytest.approx(
        0.1
    )


# Moving the trained network


def test_the_source_is_trained_alike_in_every_frameworks_notebook(html):
    """The shared training cell printed the same in all three runs, so it shows once."""
    output = shared_output(html, "PyTorch test accuracy")
    assert len(values(output, "epoch 0")) == 1 and len(re.findall(r"^epoch \d", output, re.M)) == 5
    assert number(output, "PyTorch test accuracy") > 0.85
    assert value(output, "BatchNorm layers") == "['1']"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_tab_prints_its_explicit_name_map(html, framework):
    output = outputs(html, "name map")[framework]
    printed = dict(line.strip().split(" -> ") for line in output.splitlines() if " -> " in line)
    assert printed == NAME_MAPS[framework]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_moved_logits_match_pytorch_within_the_stated_tolerance(html, framework):
    output = outputs(html, "largest logit difference from PyTorch")[framework]
    difference = number(output, "largest logit difference from PyTorch")
    if framework == "pytorch":
        assert difference == 0
    else:
        assert 0 < difference < LOGIT_TOLERANCE
        assert difference < 1e-5  # "within a few millionths"
    assert value(output, "predictions equal to PyTorch's") == "297 of 297"
    source = number(shared_output(html, "PyTorch test accuracy"), "PyTorch test accuracy")
    assert number(output, "test accuracy") == source


def test_the_text_states_the_tolerance_and_the_numbers(html):
    text = page(html).get_text()
    assert "tolerance of 1e-4" in text
    largest = number(
        outputs(html, "largest logit, in absolute value")["mxnet"],
        "largest logit, in absolute value",
    )
    assert 1 < largest < 100  # the float32 argument: a few 1e-7 steps times this magnitude
    source = number(shared_output(html, "PyTorch test accuracy"), "PyTorch test accuracy")
    assert f"from {source:.3f} to" in text


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_tab_tabulates_the_source_and_the_moved_network(html, framework):
    tables = next(t for t in tab_tables(html) if "trained in PyTorch" in str(t.get("pytorch")))
    header, trained, moved = tables[framework]
    assert header[0] == "network" and trained[0] == "trained in PyTorch"
    assert trained[1] == moved[1]  # the same test accuracy
    assert float(moved[2]) < LOGIT_TOLERANCE


def test_without_the_map_the_batchnorm_state_is_lost(html):
    out = outputs(html, "test accuracy without the map")
    source = number(shared_output(html, "PyTorch test accuracy"), "PyTorch test accuracy")
    assert value(out["pytorch"], "strict loading") == "RuntimeError"
    assert ast.literal_eval(value(out["pytorch"], "not strict, missing")) == [
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
    ]
    assert value(out["mxnet"], "strict loading") == "AssertionError"
    assert "Parameter '1.gamma' is missing" in out["mxnet"]
    assert ast.literal_eval(value(out["mindspore"], "not loaded")) == [
        "1.moving_mean",
        "1.moving_variance",
        "1.gamma",
        "1.beta",
    ]
    assert "1.running_mean" in ast.literal_eval(value(out["mindspore"], "unused"))
    accuracy = {fw: number(out[fw], "test accuracy without the map") for fw in FRAMEWORKS}
    # PyTorch and MindSpore lose the running statistics and predict worse, by the same amount.
    assert accuracy["pytorch"] == accuracy["mindspore"] < source - 0.03
    page_text = page(html).get_text()
    assert f"to {accuracy['pytorch']:.3f}" in page_text
    # MXNet loses only gamma and beta: the logits move by units, the accuracy by a few images.
    changed = round((source - accuracy["mxnet"]) * 297)
    assert accuracy["pytorch"] < accuracy["mxnet"] <= source and changed <= 5
    text = " ".join(page_text.split())
    assert f"falls from {source:.3f} to {accuracy['mxnet']:.3f}, {changed} prediction" in text
    for framework in FRAMEWORKS:
        assert number(out[framework], "largest logit difference without the map") > 0.01


def drift(output: str) -> dict[int, dict[str, dict[str, float]]]:
    """{batches: {"converted": {"mean": .., "variance": ..}, "copied": {...}}}."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"after (\d+) batches: (.*)$", line)
        if match and "|" in match.group(2):
            # "<1e-05" is the chapter's bound for float32 rounding: read as that bound
            found[int(match.group(1))] = {
                part.split()[0]: named_numbers(part.replace("<1e-05", "1e-05"))
                for part in match.group(2).split(" | ")
            }
    return found


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_copied_momentum_keeps_the_running_statistics_apart(html, framework):
    output = outputs(html, "momentum copied")[framework]
    steps = drift(output)
    assert sorted(steps) == [1, 10, 30]
    for step in steps.values():
        assert step["copied"]["mean"] > 100 * step["converted"]["mean"]
        assert step["converted"]["mean"] <= 1e-5
    # a hundred times the 1e-5 of float32 rounding, from the first batch on
    assert steps[1]["copied"]["mean"] > 1e-3
    copied = number(output, "after 30 batches, momentum copied")
    assert copied > 1e-2


def test_mxnet_running_variance_drifts_by_its_divisor_even_when_converted(html):
    out = outputs(html, "momentum copied")
    mxnet = drift(out["mxnet"])
    variance = [mxnet[step]["converted"]["variance"] for step in (1, 10, 30)]
    assert variance == sorted(variance)
    assert variance[-1] == pytest.approx(1 / 6400, rel=0.1)
    assert number(out["mxnet"], "after 30 batches, momentum converted") > LOGIT_TOLERANCE
    assert number(out["pytorch"], "after 30 batches, momentum converted") == 0
    mindspore = drift(out["mindspore"])
    assert all(step["converted"]["variance"] <= 1e-5 for step in mindspore.values())


def stated(text: str, pattern: str) -> list[float]:
    """The numbers the text gives where `pattern` (a regex with groups) matches."""
    match = re.search(pattern, text)
    assert match, f"the text does not say {pattern!r}"
    return [float(group) for group in match.groups()]


def test_the_text_states_the_drift_numbers(html):
    text = " ".join(page(html).get_text().split())
    out = outputs(html, "momentum copied")
    copied = drift(out["mindspore"])[1]["copied"]
    assert all(drift(out[fw])[1]["copied"] == copied for fw in FRAMEWORKS)
    mean, percent = stated(text, r"running means are (\S+) apart and the variances (\S+) % apart")
    assert mean == copied["mean"] and percent == pytest.approx(100 * copied["variance"])
    mxnet = drift(out["mxnet"])
    first, last = stated(text, r"from (\S+) after the first batch to (\S+) after 30")
    assert (first, last) == (mxnet[1]["converted"]["variance"], mxnet[30]["converted"]["variance"])
    (logits,) = stated(text, r"differ from PyTorch.s by (\S+), beyond")
    assert logits == number(out["mxnet"], "after 30 batches, momentum converted")
    (copied_logits,) = stated(text, r"the logits differ by (\d\S*?)\.")
    for framework in FRAMEWORKS:
        assert number(out[framework], "after 30 batches, momentum copied") == pytest.approx(
            copied_logits, rel=0.1
        )


def test_each_tab_draws_its_own_drift_figure(html):
    assert figures_outside_tabs(html) == 0
    assert images_in_tabs(html) == {framework: 1 for framework in FRAMEWORKS}


def test_onnx_export_runs_where_the_packages_allow(html):
    out = outputs(html, "ONNX export")
    assert "No module named 'onnxscript'" in out["pytorch"]
    assert "ImportError: Onnx and protobuf need to be installed" in out["mxnet"]
    assert ast.literal_eval(value(out["mxnet"], "exported graph")) == [
        "digits_cnn-0000.params",
        "digits_cnn-symbol.json",
    ]
    assert number(out["mindspore"], "exported") > 1000


def test_every_tab_set_has_all_three_frameworks(html):
    sets = tab_sets_with(html, "")
    assert len(sets) >= 10
    assert all(ts.frameworks == list(FRAMEWORKS) for ts in sets)
    assert not page(html).select(".framework-missing")
