"""Are the notebooks a reader downloads the ones that ran: one framework each, clean, complete?"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pmcheck
from autograder.course import DEFAULT_COURSE, Course
import pytest
from helpers.book_html import page, tab_sets
from helpers.chapter_facts import FRAMEWORKS
from myst_nb.core.read import read_myst_markdown_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from framework_tabs import execute  # noqa: E402 -- the book's extension, beside the book

pytestmark = [pytest.mark.slow, pytest.mark.book]
ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("accessing", "initialization", "tying", "deferred", "saving")
CASES = [(chapter, framework) for chapter in CHAPTERS for framework in FRAMEWORKS]
MODULES = pmcheck.FRAMEWORK_MODULES
PINS = {"pytorch": "torch==2.13.0", "mxnet": "mxnet==1.9.1", "mindspore": "mindspore==2.10.0"}
ZIP = "parameter-management-{}.zip"
# MyST markup that Jupyter would show as it is: labels, comments, roles, directives.
MYST = [
    re.compile(p, re.MULTILINE)
    for p in (r"^\([^()\s]+\)=\s*$", r"^%", r"\{[a-z][\w:-]*\}`", r"^\s*(`{3,}|:{3,})\s*\{")
]


@pytest.fixture(scope="module")
def downloads(built_book) -> Path:
    return built_book / "_downloads" / "notebooks"


def read(downloads: Path, chapter: str, framework: str) -> nbformat.NotebookNode:
    return nbformat.read(downloads / f"book_{chapter}_{framework}.ipynb", as_version=4)


def code(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def printed(notebook) -> str:
    return "".join(
        out.get("text", "")
        for cell in code(notebook)
        for out in cell.outputs
        if out.get("output_type") == "stream" and out.get("name") == "stdout"
    )


@pytest.mark.parametrize("chapter, framework", CASES)
def test_each_chapter_offers_a_valid_notebook_per_framework(downloads, chapter, framework):
    notebook = read(downloads, chapter, framework)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}  # no jupytext, no MyST


@pytest.mark.parametrize("chapter, framework", CASES)
def test_a_notebook_holds_the_shared_cells_and_only_its_frameworks_code(
    downloads, chapter, framework
):
    source = read_myst_markdown_notebook((ROOT / "book" / f"{chapter}.md").read_text())
    expected = [
        cell.source
        for cell in code(source)
        if set(cell.metadata.get("tags", [])) & set(FRAMEWORKS) in (set(), {framework})
    ]
    notebook = read(downloads, chapter, framework)
    assert [cell.source for cell in code(notebook)] == expected
    # The saving chapter moves a net trained in PyTorch into the other two: its shared cells
    # train that source net, so every framework's notebook of it imports torch as well.
    sources = {MODULES["pytorch"]} if chapter == "saving" else set()
    others = {MODULES[fw] for fw in FRAMEWORKS if fw != framework} - sources
    for cell in code(notebook):
        assert set(cell.metadata.get("tags", [])) & set(FRAMEWORKS) <= {framework}
        lines = "\n".join(ln for ln in cell.source.splitlines() if not ln.startswith("%"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(lines))
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module.split(".")[0]
            for node in ast.walk(ast.parse(lines))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not imported & others, cell.source


@pytest.mark.parametrize("chapter, framework", CASES)
def test_a_notebook_has_no_myst_markup(downloads, chapter, framework):
    for cell in read(downloads, chapter, framework).cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"^```[^{\n]*\n.*?^```", "", cell.source, flags=re.MULTILINE | re.DOTALL)
        for pattern in MYST:
            assert not pattern.search(text), f"{pattern.pattern!r} in:\n{cell.source}"


@pytest.mark.parametrize("chapter, framework", CASES)
def test_the_first_cell_names_the_versions_to_install(downloads, chapter, framework):
    first = read(downloads, chapter, framework).cells[0]
    assert first.cell_type == "markdown"
    install = re.search(r"^pip install (.*)$", first.source, re.MULTILINE).group(1).split()
    assert install[0] == PINS[framework]
    assert "numpy==1.26.4" in install
    if framework == "mxnet":
        assert "`np.bool = bool`" in first.source


@pytest.mark.parametrize("chapter, framework", CASES)
def test_a_notebook_carries_the_outputs_its_tabs_show(built_book, downloads, chapter, framework):
    text = printed(read(downloads, chapter, framework))
    shown = [ts.outputs[framework] for ts in tab_sets(built_book / "book" / f"{chapter}.html")]
    labelled = [
        line.strip()
        for out in shown
        for line in out.splitlines()
        if re.match(r"^\s*[a-z][\w .,/()\[\]'√·-]*: ", line)
    ]
    assert labelled, "no label: value lines in the tabs"
    missing = [line for line in labelled if line not in text]
    assert not missing, missing


@pytest.mark.parametrize("chapter, framework", CASES)
def test_what_a_cell_printed_is_one_output_however_the_kernel_cut_it(downloads, chapter, framework):
    """The kernel flushes a print in pieces, at times inside a line; the book joins them
    (MyST-NB would end each piece with a newline of its own, an empty line the next build
    does not have)."""
    for cell in code(read(downloads, chapter, framework)):
        kinds = [(out.output_type, out.get("name")) for out in cell.outputs]
        cut = [a for a, b in zip(kinds, kinds[1:]) if a == b and a[0] == "stream"]
        assert not cut, cell.source[:80]


def run_records(built_book: Path) -> list[nbformat.NotebookNode]:
    folder = built_book.parent / ".framework_notebooks" / "runs"
    return [nbformat.read(path, as_version=4) for path in sorted(folder.glob("*.ipynb"))]


def comparable(cells) -> list:
    return [
        json.dumps(
            {"source": c.source, "outputs": c.outputs, "count": c.execution_count}, sort_keys=True
        )
        for c in cells
    ]


@pytest.mark.parametrize("chapter, framework", CASES)
def test_a_notebooks_code_and_outputs_are_byte_for_byte_the_run_the_build_executed(
    built_book, downloads, chapter, framework
):
    mine = code(read(downloads, chapter, framework))
    runs = [
        run
        for run in run_records(built_book)
        if [c.source for c in code(run)] == [c.source for c in mine]
    ]
    assert len(runs) == 1, "no run record, or several, of this notebook's code"
    assert comparable(code(runs[0])) == comparable(mine)


@pytest.mark.parametrize("chapter, framework", CASES)
def test_links_between_notebooks_reach_notebooks_and_headings_that_exist(
    downloads, chapter, framework
):
    notebook = read(downloads, chapter, framework)
    links = [
        link
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for link in re.findall(r"\]\(([^)\s]+)\)", cell.source)
    ]
    for link in links:
        name, _, anchor = link.partition("#")
        target_path = (downloads / name).resolve() if name else None
        assert target_path is None or target_path.is_file(), link
        if anchor:
            target = nbformat.read(target_path, as_version=4) if name else notebook
            headings = [
                line.lstrip("#").strip().replace(" ", "-")
                for cell in target.cells
                if cell.cell_type == "markdown"
                for line in cell.source.splitlines()
                if line.startswith("#")
            ]
            assert anchor in headings, link


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_framework_zip_holds_every_chapter_and_its_student_notebooks(
    built_book, downloads, framework
):
    with zipfile.ZipFile(built_book / "_downloads" / ZIP.format(framework)) as archive:
        names = archive.namelist()
        top = ZIP.format(framework).removesuffix(".zip")
        for chapter in CHAPTERS:
            name = f"book_{chapter}_{framework}.ipynb"
            assert archive.read(f"{top}/notebooks/{name}") == (downloads / name).read_bytes()
        students = [n for n in names if n.startswith(f"{top}/exercises/")]
        exercises = Course.open(DEFAULT_COURSE).exercises()
        assert sorted(students) == sorted(
            f"{top}/exercises/{name}_{framework}.ipynb" for name in exercises
        )
        assert len(names) == len(CHAPTERS) + len(exercises)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_theme_download_button_offers_the_framework_notebooks_not_the_source(
    built_book, chapter
):
    html = page(built_book / "book" / f"{chapter}.html")
    items = [
        (a.get("href"), a.get_text(" ", strip=True))
        for a in html.select(".dropdown-download-buttons .dropdown-menu a")
    ]
    assert items == [
        *[
            (f"../_downloads/notebooks/book_{chapter}_{fw}.ipynb", f"{label} .ipynb")
            for fw, label in zip(FRAMEWORKS, ["PyTorch", "MXNet", "MindSpore"])
        ],
        *[
            (f"../_downloads/{ZIP.format(fw)}", f"All {label} .zip")
            for fw, label in zip(FRAMEWORKS, ["PyTorch", "MXNet", "MindSpore"])
        ],
    ]
    assert not html.select(".btn-download-source-button")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_tab_set_has_a_cell_for_every_framework(built_book, chapter):
    html = built_book / "book" / f"{chapter}.html"
    assert not page(html).select(".framework-missing")
    for ts in tab_sets(html):
        assert ts.frameworks == list(FRAMEWORKS)
        assert all(ts.sources[fw].strip() for fw in FRAMEWORKS)


@pytest.fixture(scope="module")
def reruns(downloads) -> dict[tuple[str, str], nbformat.NotebookNode]:
    """Every downloaded notebook run again on its own, in a fresh kernel and folder."""
    from nbclient import NotebookClient

    def run(case):
        notebook = read(downloads, *case)
        with tempfile.TemporaryDirectory() as folder:
            # with the settings of the book's own kernels (its math threads, above all)
            NotebookClient(notebook, timeout=600, resources={"metadata": {"path": folder}}).execute(
                env=execute.kernel_environment(execute.kernel_threads())
            )
        return case, notebook

    with ThreadPoolExecutor(max_workers=max(1, min(4, len(os.sched_getaffinity(0))))) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.kernel  # besides the book: each downloaded notebook runs again in a kernel
@pytest.mark.parametrize("chapter, framework", CASES)
def test_a_downloaded_notebook_runs_on_its_own_and_prints_what_it_shows(
    downloads, reruns, chapter, framework
):
    """Run in a fresh kernel outside the book, it prints what the book shows (addresses
    of objects in memory aside)."""

    def lines(text):
        return re.sub(r"0x[0-9a-f]+", "0x…", text).splitlines()

    again = reruns[(chapter, framework)]
    errors = [
        out.ename
        for cell in code(again)
        for out in cell.outputs
        if out.output_type == "error" and "raises-exception" not in cell.metadata.get("tags", [])
    ]
    assert errors == []
    assert lines(printed(again)) == lines(printed(read(downloads, chapter, framework)))
