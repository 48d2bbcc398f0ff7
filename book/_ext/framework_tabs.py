"""Group consecutive framework-tagged code cells into synchronized sphinx-design tab sets.

Jupyter Book 1.x cannot execute a code cell nested inside a tab directive, so chapters
keep their cells at the top level and tag each one ``pytorch``, ``mxnet`` or
``mindspore``. After MyST-NB has parsed and executed a page, this transform wraps every
run of consecutive tagged cells (input and outputs) into one tab set, tabs in a fixed
order, all sets in one sync group: picking a framework once switches every tab set, the
choice is remembered across pages, and ``?framework=mindspore`` in the URL opens a page
on that framework (both provided by sphinx-design's tab script for a sync group).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from docutils import nodes
from myst_nb.core.read import read_myst_markdown_notebook
from sphinx.application import Sphinx
from sphinx.errors import SphinxError
from sphinx.transforms import SphinxTransform

SYNC_GROUP = "framework"
FRAMEWORKS: dict[str, str] = {"pytorch": "PyTorch", "mxnet": "MXNet", "mindspore": "MindSpore"}
# Tags that name a framework the book does not cover: almost surely a mistake.
FOREIGN_FRAMEWORKS = {"torch", "mx", "gluon", "ms", "tensorflow", "tf", "keras", "jax", "paddle"}


class FrameworkTabError(SphinxError):
    """A code cell's framework tags cannot be turned into a tab."""

    category = "Framework tabs error"


@dataclass(frozen=True)
class TaggedCell:
    node: nodes.container
    framework: str


def _is_code_cell(node: nodes.Node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def _describe(node: nodes.Element, source: str) -> str:
    """Where a cell is, for error messages: file, line, and the cell's index in the notebook."""
    where = f"{source}, line {node.line}" if node.line else source
    return f"{where}: code cell {node.get('cell_index', '?')}"


def cell_framework(node: nodes.Element, source: str) -> str | None:
    """The framework a code cell is tagged with, None if untagged; raises on bad tags."""
    tags = list(node.get("cell_metadata", {}).get("tags", []))
    found = [tag for tag in tags if tag in FRAMEWORKS]
    if len(found) > 1:
        raise FrameworkTabError(
            f"{_describe(node, source)} has {len(found)} framework tags "
            f"({', '.join(found)}); a cell belongs to exactly one framework tab"
        )
    for tag in tags:
        if tag in FRAMEWORKS:
            continue
        near = difflib.get_close_matches(tag.lower(), FRAMEWORKS, n=1, cutoff=0.75)
        if tag.lower() in FOREIGN_FRAMEWORKS or tag.lower() in FRAMEWORKS or near:
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise FrameworkTabError(
                f"{_describe(node, source)} has the unknown framework tag '{tag}'{hint}; "
                f"the framework tags are {', '.join(FRAMEWORKS)}"
            )
    return found[0] if found else None


def _tab_set(run: list[TaggedCell]) -> nodes.container:
    """One sphinx-design tab set holding a run of tagged cells, in the fixed order."""
    tab_set = nodes.container(
        "", is_div=True, design_component="tab-set", classes=["sd-tab-set", "framework-tabs"]
    )
    tab_set.source, tab_set.line = run[0].node.source, run[0].node.line
    for framework, label in FRAMEWORKS.items():
        cells = [cell.node for cell in run if cell.framework == framework]
        if not cells:
            continue
        title = nodes.rubric(label, label, classes=["sd-tab-label"])
        title["sync_id"] = framework
        title["sync_group"] = SYNC_GROUP
        content = nodes.container(
            "", *cells, is_div=True, design_component="tab-content", classes=["sd-tab-content"]
        )
        item = nodes.container(
            "",
            title,
            content,
            is_div=True,
            design_component="tab-item",
            classes=["sd-tab-item", f"framework-{framework}"],
            selected=False,
        )
        item.source, item.line = cells[0].source, cells[0].line
        tab_set += item
    return tab_set


def _plan_entry(cell: nbformat.NotebookNode) -> tuple[str | None, str]:
    found = [tag for tag in cell.metadata.get("tags", []) if tag in FRAMEWORKS]
    return (found[0] if len(found) == 1 else None, cell.source)


def read_notebook(text: str) -> nbformat.NotebookNode:
    """Read a MyST notebook and prepend a hidden cell that keeps frameworks' names apart.

    The hidden cell hands the kernel the framework of every code cell (see
    framework_namespaces.py), so each tab can use the same names in one kernel.
    """
    notebook = read_myst_markdown_notebook(text, add_source_map=True)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if not code_cells:
        # A page of text only: no kernel to start (MyST-NB's per-file setting).
        notebook.metadata.setdefault("mystnb", {})["execution_mode"] = "off"
        return notebook
    if not any(_plan_entry(cell)[0] for cell in code_cells):
        return notebook
    plan = [_plan_entry(cell) for cell in code_cells]
    setup = nbformat.v4.new_code_cell(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import framework_namespaces\n"
        f"framework_namespaces.install({plan!r})\n",
        metadata={"tags": ["remove-cell"]},
    )
    setup.id = "framework-namespaces"
    notebook.cells.insert(0, setup)
    source_map = notebook.metadata.get("source_map")
    if source_map is not None:
        source_map.insert(0, source_map[0] if source_map else 0)
    return notebook


def framework_notebook(notebook: nbformat.NotebookNode, framework: str) -> nbformat.NotebookNode:
    """The page as a notebook for one framework: its cells, the untagged ones, the text."""
    single = nbformat.v4.new_notebook(metadata={
        key: value for key, value in notebook.metadata.items() if key != "source_map"
    })
    for cell in notebook.cells:
        if cell.cell_type != "code" or _plan_entry(cell)[0] in (None, framework):
            single.cells.append(cell)
    return single


DOWNLOADS = "_downloads/notebooks"


def _download_name(docname: str, framework: str) -> str:
    return f"{docname.replace('/', '_')}_{framework}.ipynb"


def _download_links(docname: str, frameworks: list[str]) -> nodes.paragraph:
    """A line under the page title linking the page's one-framework notebooks."""
    up = "../" * docname.count("/")
    para = nodes.paragraph(classes=["framework-downloads"])
    para += nodes.Text("Download this page as a notebook: ")
    for i, framework in enumerate(frameworks):
        if i:
            para += nodes.Text(" · ")
        uri = f"{up}{DOWNLOADS}/{_download_name(docname, framework)}"
        para += nodes.reference(FRAMEWORKS[framework], FRAMEWORKS[framework], refuri=uri)
    return para


def _write_downloads(app: Sphinx, exception: Exception | None) -> None:
    """Write every tabbed page's one-framework notebooks next to the HTML."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / DOWNLOADS
    target.mkdir(parents=True, exist_ok=True)
    for docname, meta in app.env.metadata.items():
        if not meta.get("framework_downloads"):
            continue
        notebook = read_myst_markdown_notebook(Path(app.env.doc2path(docname)).read_text())
        for framework in meta["framework_downloads"]:
            nbformat.write(
                framework_notebook(notebook, framework),
                target / _download_name(docname, framework),
            )


def _use_our_reader(app: Sphinx, config) -> None:
    config.nb_custom_formats = {
        ".md": ("framework_tabs.read_notebook", {}, False),
        **config.nb_custom_formats,
    }


class GroupFrameworkCells(SphinxTransform):
    """Wrap each run of consecutive framework-tagged code cells into one tab set."""

    # After MyST-NB has built the cell containers, before sphinx-design's HTML transform.
    default_priority = 500

    def apply(self, **kwargs) -> None:
        source = self.env.doc2path(self.env.docname, base=False)
        parents = {cell.parent for cell in self.document.findall(_is_code_cell)}
        for parent in parents:
            if parent is not None:
                self._group_children(parent, str(source))
        present = {
            label["sync_id"]
            for label in self.document.findall(nodes.rubric)
            if label.get("sync_group") == SYNC_GROUP
        }
        frameworks = [framework for framework in FRAMEWORKS if framework in present]
        self.env.metadata[self.env.docname]["framework_downloads"] = frameworks
        title = next(self.document.findall(nodes.title), None)
        if frameworks and title is not None:
            title.parent.insert(title.parent.index(title) + 1,
                                _download_links(self.env.docname, frameworks))

    def _group_children(self, parent: nodes.Element, source: str) -> None:
        children: list[nodes.Node] = []
        run: list[TaggedCell] = []
        for child in parent.children:
            framework = cell_framework(child, source) if _is_code_cell(child) else None
            if framework is not None:
                run.append(TaggedCell(child, framework))
                continue
            if run:
                children.append(_tab_set(run))
                run = []
            children.append(child)
        if run:
            children.append(_tab_set(run))
        parent.children = []
        parent.extend(children)


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_design")
    app.add_transform(GroupFrameworkCells)
    # Before MyST-NB registers its custom formats (priority 500).
    app.connect("config-inited", _use_our_reader, priority=400)
    app.connect("build-finished", _write_downloads)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
