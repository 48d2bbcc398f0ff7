"""Does the framework-tabs extension group tagged cells into synchronized tab sets?"""

from __future__ import annotations

import pytest

from book_html import page, tab_sets
from fixture_book import build, cell


@pytest.fixture(scope="module")
def fixture_book(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("tabs")
    first = (
        "# Grouping\n\n"
        + cell('print("untagged")')
        # Written out of order on purpose: the tabs come out in the fixed order.
        + cell('print("mx 1")', "mxnet")
        + cell('print("ms 1")', "mindspore")
        + cell('print("pt 1")', "pytorch")
        + cell('print("pt 1b")', "pytorch")
        + "A markdown cell ends the run.\n\n"
        + cell('print("pt 2")', "pytorch")
        + cell('print("ms 2")', "mindspore", "hide-input")
        + "Another one.\n\n"
        + cell('print("mx 3")', "mxnet")
    )
    second = "# Second page\n\n" + cell('print("pt")', "pytorch") + cell('print("mx")', "mxnet")
    names = (
        "# Names\n\n"
        + cell('import math as nn\nnet = "pt net"', "pytorch")
        + cell('import json as nn\nnet = "mx net"', "mxnet")
        + "Each tab uses the same names.\n\n"
        + cell("print(net, nn.__name__)", "pytorch")
        + cell("print(net, nn.__name__)", "mxnet")
        + "An untagged cell binds a name every framework shares.\n\n"
        + cell('X = "shared X"\nprint(net)')
        + cell("print(X, net)", "pytorch")
    )
    result = build(tmp, {"index": first, "second": second, "names": names})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp / "out" / "_build" / "html"


@pytest.mark.slow
def test_consecutive_tagged_cells_form_one_tab_set_per_run(fixture_book):
    sets = tab_sets(fixture_book / "index.html")
    assert [ts.frameworks for ts in sets] == [
        ["pytorch", "mxnet", "mindspore"],
        ["pytorch", "mindspore"],
        ["mxnet"],
    ]


@pytest.mark.slow
def test_tabs_come_in_fixed_order_with_readable_labels(fixture_book):
    first = tab_sets(fixture_book / "index.html")[0]
    assert first.labels == ["PyTorch", "MXNet", "MindSpore"]


@pytest.mark.slow
def test_each_tab_holds_its_own_cells_and_executed_outputs(fixture_book):
    first, second, third = tab_sets(fixture_book / "index.html")
    assert first.outputs["pytorch"].split() == ["pt", "1", "pt", "1b"]
    assert first.outputs["mxnet"].split() == ["mx", "1"]
    assert first.outputs["mindspore"].split() == ["ms", "1"]
    assert 'print("pt 1b")' in first.sources["pytorch"]
    assert second.outputs["mindspore"].split() == ["ms", "2"]
    assert third.outputs["mxnet"].split() == ["mx", "3"]


@pytest.mark.slow
def test_untagged_cells_render_outside_any_tab_set(fixture_book):
    html = page(fixture_book / "index.html")
    untagged = [
        out for out in html.select("div.cell_output") if "untagged" in out.get_text()
    ]
    assert len(untagged) == 1
    assert untagged[0].find_parent("div", class_="sd-tab-set") is None


@pytest.mark.slow
def test_every_tab_set_on_every_page_shares_one_sync_group(fixture_book):
    sets = tab_sets(fixture_book / "index.html") + tab_sets(fixture_book / "second.html")
    assert {group for ts in sets for group in ts.sync_groups} == {"framework"}


@pytest.mark.slow
def test_page_loads_the_script_that_syncs_tabs_and_reads_the_url(fixture_book):
    """sphinx-design's script syncs a group, stores the choice and reads ?framework=."""
    scripts = [s.get("src", "") for s in page(fixture_book / "index.html").find_all("script")]
    tab_script = next(src for src in scripts if "design-tabs.js" in src)
    code = (fixture_book / tab_script.split("?")[0]).read_text()
    assert "URLSearchParams" in code and "localStorage" in code


@pytest.mark.slow
@pytest.mark.parametrize(
    "tags, message",
    [
        (("pytorch", "mxnet"), "has 2 framework tags (pytorch, mxnet)"),
        (("pytoch",), "unknown framework tag 'pytoch' (did you mean 'pytorch'?)"),
        (("tensorflow",), "unknown framework tag 'tensorflow'"),
    ],
)
def test_bad_framework_tags_fail_the_build_naming_file_and_cell(tmp_path, tags, message):
    body = "# Bad\n\n" + cell("x = 1") + cell("y = 2", *tags)
    result = build(tmp_path, {"index": body}, execute="off")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    assert "index.md, line 17: code cell 2" in output


@pytest.mark.slow
def test_each_framework_keeps_its_own_names_in_the_one_kernel(fixture_book):
    """A later PyTorch cell sees PyTorch's `net` and `nn`, though MXNet rebound both."""
    uses, after_untagged = tab_sets(fixture_book / "names.html")[1:]
    assert uses.outputs["pytorch"].split() == ["pt", "net", "math"]
    assert uses.outputs["mxnet"].split() == ["mx", "net", "json"]
    # A name an untagged cell bound is shared; the framework's own names come back.
    assert after_untagged.outputs["pytorch"].split() == ["shared", "X", "pt", "net"]
