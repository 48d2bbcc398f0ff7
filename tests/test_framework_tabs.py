"""Does the framework-tabs extension run each framework in its own kernel and tab the outputs?"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.book_html import page, tab_sets
from helpers.fixture_book import ALLOW_MISSING_TABS, build, cell

pytestmark = [pytest.mark.slow, pytest.mark.book]

PID = "import os\nprint(os.getpid())"


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
    kernels = (
        "# Kernels\n\n"
        + cell(f'{PID}\nnet = "pt net"', "pytorch")
        + cell(f'{PID}\nnet = "mx net"', "mxnet")
        + cell(f'{PID}\nnet = "ms net"', "mindspore")
        + "Each framework's cells run in a kernel of their own.\n\n"
        + cell(f"{PID}\nprint(net)", "pytorch")
        + cell(f"{PID}\nprint(net)", "mxnet")
        + cell(f"{PID}\nprint(net)", "mindspore")
        + "An untagged cell runs in every kernel.\n\n"
        + cell('X = "shared X"\nprint("same everywhere")')
        + cell("print(X, net)")
        + cell("print(X)", "pytorch")
        + cell("print(X)", "mxnet")
        + cell("print(X)", "mindspore")
    )
    result = build(
        tmp,
        {"index": first, "second": second, "kernels": kernels},
        sphinx_config=ALLOW_MISSING_TABS,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp / "out" / "_build" / "html"


def real_tabs(tab_set) -> list[str]:
    """The frameworks of a tab set that hold cells, not the note that there are none."""
    return [fw for fw in tab_set.frameworks if "has no" not in tab_set.texts[fw]]


def test_consecutive_tagged_cells_form_one_tab_set_per_run(fixture_book):
    sets = tab_sets(fixture_book / "index.html")
    assert [real_tabs(ts) for ts in sets] == [
        ["pytorch", "mxnet", "mindspore"],
        ["pytorch", "mindspore"],
        ["mxnet"],
    ]


def test_every_tab_set_offers_all_three_frameworks_in_fixed_order(fixture_book):
    for ts in tab_sets(fixture_book / "index.html"):
        assert ts.labels == ["PyTorch", "MXNet", "MindSpore"]
        assert ts.frameworks == ["pytorch", "mxnet", "mindspore"]


def test_a_framework_without_a_cell_gets_a_tab_that_says_so(fixture_book):
    second_set = tab_sets(fixture_book / "index.html")[1]
    assert second_set.texts["mxnet"].strip() == "This example has no MXNet counterpart."
    assert second_set.outputs["mxnet"] == ""


def test_a_tab_set_missing_a_framework_fails_the_strict_book_build(tmp_path):
    body = "# Gap\n\n" + cell('print("pt")', "pytorch") + cell('print("mx")', "mxnet")
    result = build(tmp_path, {"index": body}, execute="off")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "index.md:13: WARNING: this tab set has no MindSpore cell" in output
    assert "add one that shows what MindSpore does instead" in output


def test_each_tab_holds_its_own_cells_and_executed_outputs(fixture_book):
    first, second, third = tab_sets(fixture_book / "index.html")
    assert first.outputs["pytorch"].split() == ["pt", "1", "pt", "1b"]
    assert first.outputs["mxnet"].split() == ["mx", "1"]
    assert first.outputs["mindspore"].split() == ["ms", "1"]
    assert 'print("pt 1b")' in first.sources["pytorch"]
    assert second.outputs["mindspore"].split() == ["ms", "2"]
    assert third.outputs["mxnet"].split() == ["mx", "3"]


def test_untagged_cells_with_the_same_output_everywhere_render_once_outside_the_tabs(
    fixture_book,
):
    for name, text in [("index", "untagged"), ("kernels", "same everywhere")]:
        html = page(fixture_book / f"{name}.html")
        shown = [out for out in html.select("div.cell_output") if text in out.get_text()]
        assert len(shown) == 1
        assert shown[0].find_parent("div", class_="sd-tab-set") is None


def test_every_tab_set_on_every_page_shares_one_sync_group(fixture_book):
    sets = tab_sets(fixture_book / "index.html") + tab_sets(fixture_book / "second.html")
    assert {group for ts in sets for group in ts.sync_groups} == {"framework"}


def test_page_loads_the_script_that_syncs_tabs_and_reads_the_url(fixture_book):
    """sphinx-design's script syncs a group, stores the choice and reads ?framework=."""
    scripts = [s.get("src", "") for s in page(fixture_book / "index.html").find_all("script")]
    tab_script = next(src for src in scripts if "design-tabs.js" in src)
    code = (fixture_book / tab_script.split("?")[0]).read_text()
    assert "URLSearchParams" in code and "localStorage" in code


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


def pids(output: str) -> list[int]:
    return [int(word) for word in output.split() if word.isdigit()]


def test_each_framework_runs_in_a_kernel_of_its_own(fixture_book):
    """A framework's later cells run in the same process as its earlier ones, apart from
    the other frameworks, and see only the names their own framework bound."""
    binds, uses = tab_sets(fixture_book / "kernels.html")[:2]
    processes = {fw: pids(binds.outputs[fw]) + pids(uses.outputs[fw]) for fw in binds.outputs}
    assert all(len(set(found)) == 1 for found in processes.values()), processes
    assert len({found[0] for found in processes.values()}) == 3
    for framework, word in [("pytorch", "pt"), ("mxnet", "mx"), ("mindspore", "ms")]:
        assert uses.outputs[framework].split()[-2:] == [word, "net"]


def test_an_untagged_cell_whose_output_differs_shows_in_each_tab_with_its_own_output(
    fixture_book,
):
    shared = tab_sets(fixture_book / "kernels.html")[2]
    assert {fw: shared.outputs[fw].split() for fw in shared.frameworks} == {
        "pytorch": ["shared", "X", "pt", "net", "shared", "X"],
        "mxnet": ["shared", "X", "mx", "net", "shared", "X"],
        "mindspore": ["shared", "X", "ms", "net", "shared", "X"],
    }
    assert all("print(X, net)" in shared.sources[fw] for fw in shared.frameworks)


def test_a_cell_that_raises_fails_the_build_naming_page_framework_and_error(tmp_path):
    body = (
        "# Failing\n\n"
        + cell('print("pt")', "pytorch")
        + cell("1 / 0", "mxnet")
        + cell('print("ms")', "mindspore")
    )
    result = build(tmp_path, {"index": body})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "index (MXNet): executing the notebook failed" in output
    assert "ZeroDivisionError" in output
