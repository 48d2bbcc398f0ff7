"""Does the execution cache run again exactly the framework notebooks whose code changed?"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pmcheck
import pytest
from helpers.book_html import tab_sets
from helpers.fixture_book import build, cell

pytestmark = [pytest.mark.slow, pytest.mark.book]
FRAMEWORKS = pmcheck.FRAMEWORKS


def pid(framework: str) -> str:
    # The framework's name makes each notebook's code its own: the same code is one run.
    return f"import os\nprint('process', os.getpid(), {framework!r})"


def chapter(mxnet_line: str = "print('mx')", prose: str = "Some text.") -> str:
    return (
        "# Chapter\n\n"
        + cell(pid("pytorch"), "pytorch")
        + cell(f"{pid('mxnet')}\n{mxnet_line}", "mxnet")
        + cell(pid("mindspore"), "mindspore")
        + f"{prose}\n\n"
        + cell("print('shared')")
    )


OTHER = "# Other\n\n" + "".join(cell(pid(fw) + "  # other", fw) for fw in FRAMEWORKS)


def executed(result) -> list[str]:
    """The framework notebooks a build ran, as "page (Framework)"."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return sorted(re.findall(r"^(\S+ \(\w+\)): executed in", result.stdout, re.MULTILINE))


def processes(html: Path) -> dict[str, str]:
    first = tab_sets(html)[0]
    return {fw: re.search(r"process (\d+)", first.outputs[fw]).group(1) for fw in first.outputs}


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def build_cached(book: Path, **chapter_args):
    return build(book, {"index": chapter(**chapter_args), "other": OTHER}, execute="cache")


@pytest.fixture(scope="module")
def cold(book):
    return build_cached(book)


def html(book: Path, name: str) -> Path:
    return book / "out" / "_build" / "html" / f"{name}.html"


def test_a_cold_build_runs_every_framework_notebook_of_every_page(cold):
    assert executed(cold) == [
        "index (MXNet)",
        "index (MindSpore)",
        "index (PyTorch)",
        "other (MXNet)",
        "other (MindSpore)",
        "other (PyTorch)",
    ]


def test_a_second_build_with_nothing_changed_runs_nothing(book, cold):
    before = processes(html(book, "index"))
    assert executed(build_cached(book)) == []
    assert processes(html(book, "index")) == before


def test_editing_one_mxnet_cell_runs_only_that_pages_mxnet_notebook(book, cold):
    before, other = processes(html(book, "index")), processes(html(book, "other"))
    assert executed(build_cached(book, mxnet_line="print('mx, edited')")) == ["index (MXNet)"]
    after = processes(html(book, "index"))
    assert after["pytorch"] == before["pytorch"] and after["mindspore"] == before["mindspore"]
    assert after["mxnet"] != before["mxnet"]
    assert "mx, edited" in tab_sets(html(book, "index"))[0].outputs["mxnet"]
    assert processes(html(book, "other")) == other


def test_editing_prose_runs_nothing_but_updates_the_downloads(book, cold):
    build_cached(book, mxnet_line="print('mx, edited')")
    result = build_cached(book, mxnet_line="print('mx, edited')", prose="New text.")
    assert executed(result) == []
    download = book / "out" / "_build" / "html" / "_downloads" / "notebooks" / "index_mxnet.ipynb"
    notebook = nbformat.read(download, as_version=4)
    assert any("New text." in c.source for c in notebook.cells if c.cell_type == "markdown")
    assert any(
        "mx, edited" in o.get("text", "")
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
