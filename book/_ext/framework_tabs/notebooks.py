"""Split a chapter into one notebook per framework, and merge their outputs back into the page."""

from __future__ import annotations

import ast
import copy
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode

from .cells import EXECUTION_TAGS, FRAMEWORKS, cell_framework, tags_of

# The package that brings each framework; its version is named first in a notebook's pins.
FRAMEWORK_PACKAGES = {"pytorch": "torch", "mxnet": "mxnet", "mindspore": "mindspore"}
# Packages that come with Jupyter itself: a reader who runs a notebook has them already.
JUPYTER_PACKAGES = {"ipython", "ipykernel", "jupyter-client", "jupyter-core"}
# Every framework hands its arrays to numpy, imported or not, and MXNet 1.9.1 needs it below 2.
ALWAYS_PINNED = {"numpy"}
MXNET_SHIM = "np.bool = bool"


@dataclass(frozen=True)
class FrameworkNotebook:
    """One framework's notebook of a page, and where each of its cells sits in the page."""

    framework: str | None  # None: a page without framework cells runs as one notebook
    notebook: NotebookNode
    positions: tuple[int | None, ...]  # per cell: its index in the page, None if added

    def code_cells(self) -> list[tuple[int | None, NotebookNode]]:
        return [
            (pos, cell)
            for pos, cell in zip(self.positions, self.notebook.cells)
            if cell.cell_type == "code"
        ]


def describe_cell(page: NotebookNode, index: int, source: str) -> str:
    """Where a page's cell is, for messages: ``book/tying.md, line 40: code cell 3``."""
    lines = page.metadata.get("source_map")
    # source_map holds the line of each cell's opening fence; its code starts on the next
    # line (or the one after, below a tags line), which is the line MyST-NB gives the cell.
    if lines and index < len(lines):
        offset = 2 if tags_of(page.cells[index]) else 1
        return f"{source}, line {lines[index] + offset}: code cell {index}"
    return f"{source}: code cell {index}"


def cell_frameworks(page: NotebookNode, source: str) -> list[str | None]:
    """The framework of every cell of a page (None for text and untagged cells); checks tags."""
    return [
        cell_framework(tags_of(cell), describe_cell(page, i, source))
        if cell.cell_type == "code"
        else None
        for i, cell in enumerate(page.cells)
    ]


def page_frameworks(page: NotebookNode, source: str) -> list[str]:
    """The frameworks that have at least one cell on the page, in tab order."""
    present = set(cell_frameworks(page, source))
    return [framework for framework in FRAMEWORKS if framework in present]


def split(
    page: NotebookNode,
    source: str,
    markdown: Callable[[str, str | None], str] | None = None,
    first_cell: Callable[[str | None, NotebookNode], NotebookNode | None] | None = None,
) -> dict[str | None, FrameworkNotebook]:
    """One notebook per framework on the page: its text, the untagged cells and its own cells.

    A page with code but no framework cells gives one notebook, under the key None; a page
    without code gives none. `markdown(text, framework)` rewrites each text cell for the
    notebook ("" drops it); `first_cell(framework, notebook)` makes a cell to put first.
    """
    owners = cell_frameworks(page, source)
    if not any(cell.cell_type == "code" for cell in page.cells):
        return {}
    frameworks: list[str | None] = [fw for fw in FRAMEWORKS if fw in owners] or [None]
    notebooks = {}
    for framework in frameworks:
        cells, positions = [], []
        for index, (cell, owner) in enumerate(zip(page.cells, owners)):
            if cell.cell_type == "code" and owner not in (None, framework):
                continue
            cell = _clean_cell(cell)
            if cell.cell_type == "markdown" and markdown is not None:
                cell.source = markdown(cell.source, framework)
                if not cell.source.strip():
                    continue
            cells.append(cell)
            positions.append(index)
        notebook = nbformat.v4.new_notebook(
            cells=cells, metadata={"kernelspec": copy.deepcopy(page.metadata.get("kernelspec", {}))}
        )
        if first_cell is not None:
            extra = first_cell(framework, notebook)
            if extra is not None:
                notebook.cells.insert(0, extra)
                positions.insert(0, None)
        for number, cell in enumerate(notebook.cells):
            cell.id = f"cell-{number}"  # stable ids: the same page gives the same notebook
        notebooks[framework] = FrameworkNotebook(framework, notebook, tuple(positions))
    return notebooks


def _clean_cell(cell: NotebookNode) -> NotebookNode:
    """A fresh copy of a page cell with only what a Jupyter notebook needs."""
    metadata = {key: copy.deepcopy(value) for key, value in cell.metadata.items() if key == "tags"}
    if cell.cell_type == "code":
        return nbformat.v4.new_code_cell(cell.source, metadata=metadata)
    return nbformat.v4.new_markdown_cell(cell.source, metadata=metadata)


def run_key(notebook: FrameworkNotebook, settings: Mapping) -> str:
    """What decides a run's outputs: the kernel, every code cell and the execution settings.

    Text cells are left out, so editing prose runs nothing again.
    """
    cells = [
        [cell.source, [tag for tag in tags_of(cell) if tag in EXECUTION_TAGS]]
        for _, cell in notebook.code_cells()
    ]
    kernel = notebook.notebook.metadata.get("kernelspec", {}).get("name")
    text = json.dumps(
        {"kernel": kernel, "cells": cells, "settings": dict(settings)}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def with_outputs(notebook: FrameworkNotebook, executed: NotebookNode) -> FrameworkNotebook:
    """The notebook with the outputs of a run of the same code (its text may be newer)."""
    ran = [cell for cell in executed.cells if cell.cell_type == "code"]
    mine = [cell for _, cell in notebook.code_cells()]
    if [cell.source for cell in ran] != [cell.source for cell in mine]:
        raise ValueError("the run is of other code than this notebook")
    result = copy.deepcopy(notebook.notebook)
    code = [cell for cell in result.cells if cell.cell_type == "code"]
    for cell, run in zip(code, ran):
        cell.outputs = copy.deepcopy(run.outputs)
        cell.execution_count = run.execution_count
    for key in ("language_info",):  # what the kernel reported about itself
        if key in executed.metadata:
            result.metadata[key] = copy.deepcopy(executed.metadata[key])
    return FrameworkNotebook(notebook.framework, result, notebook.positions)


def merge(page: NotebookNode, runs: Mapping[str | None, FrameworkNotebook]) -> NotebookNode:
    """The page with every code cell's outputs from the run of its framework's notebook.

    A framework's cell takes the outputs of its framework's run. An untagged cell ran in
    every framework's notebook: if all runs printed the same, it shows once with those
    outputs; otherwise it becomes one copy per framework, tagged with that framework and
    holding that framework's outputs, so that it lands in that framework's tab.
    """
    by_position: dict[int, dict[str | None, NotebookNode]] = {}
    for framework, run in runs.items():
        for position, cell in run.code_cells():
            if position is not None:
                by_position.setdefault(position, {})[framework] = cell
    merged = copy.deepcopy(page)
    cells, lines = [], []
    source_map = page.metadata.get("source_map")
    for index, cell in enumerate(merged.cells):
        line = source_map[index] if source_map and index < len(source_map) else None
        ran = by_position.get(index, {})
        if cell.cell_type != "code" or not ran:
            cells.append(cell)
            lines.append(line)
            continue
        owner = next((tag for tag in tags_of(cell) if tag in FRAMEWORKS), None)
        if owner is not None or len(ran) == 1 or _all_equal(c.outputs for c in ran.values()):
            source = ran.get(owner) or next(iter(ran.values()))
            cell.outputs = copy.deepcopy(source.outputs)
            cell.execution_count = source.execution_count
            cells.append(cell)
            lines.append(line)
            continue
        for framework, run_cell in ran.items():
            twin = copy.deepcopy(cell)
            twin.id = f"{cell.get('id', index)}-{framework}"[:64]
            twin.metadata["tags"] = [*tags_of(cell), framework]
            _name_figure_for(twin, framework)
            twin.outputs = copy.deepcopy(run_cell.outputs)
            twin.execution_count = run_cell.execution_count
            cells.append(twin)
            lines.append(line)
    merged.cells = cells
    if source_map is not None:
        merged.metadata["source_map"] = lines
    # What the kernels said about their language tells MyST-NB how to highlight the code.
    reported = next(
        (
            run.notebook.metadata["language_info"]
            for run in runs.values()
            if "language_info" in run.notebook.metadata
        ),
        None,
    )
    if reported is not None:
        merged.metadata.setdefault("language_info", copy.deepcopy(reported))
    return merged


def _name_figure_for(twin: NotebookNode, framework: str) -> None:
    """Give a twin's figure a label of its own: `tying-norms` becomes `tying-norms-mxnet`.

    A label names one place of the book; the twins are three figures, one per tab.
    """
    figure = twin.metadata.get("mystnb", {}).get("figure", {})
    if figure.get("name"):
        figure["name"] = twin_figure_name(figure["name"], framework)


def twin_figure_name(name: str, framework: str) -> str:
    return f"{name}-{framework}"


def _all_equal(outputs: Iterable[list]) -> bool:
    normalized = {json.dumps(_comparable(out), sort_keys=True) for out in outputs}
    return len(normalized) <= 1


def _comparable(outputs: list) -> list:
    """Outputs as the page shows them: streams joined, execution counts left out."""
    return join_streams(
        [{k: v for k, v in out.items() if k != "execution_count"} for out in outputs]
    )


def join_streams(outputs: list) -> list:
    """The outputs with each run of stream outputs of one name (stdout, stderr) joined into
    one, the text as it came; nothing else moves. The outputs given are left as they are."""
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            joined[-1] = copy.copy(previous)
            joined[-1]["text"] = previous["text"] + output.get("text", "")
        else:
            joined.append(output)
    return joined


def imported_modules(sources: Iterable[str]) -> set[str]:
    """The top-level modules that code imports (IPython magics and shell lines skipped)."""
    modules = set()
    for source in sources:
        code = "\n".join(
            line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules


def pins(
    framework: str | None,
    sources: Iterable[str],
    distributions: Mapping[str, list[str]],
    version: Callable[[str], str],
) -> list[str]:
    """``package==version`` for every installed package the code imports, framework first.

    `distributions` maps a module to the packages that provide it
    (importlib.metadata.packages_distributions()); standard-library modules have none.
    """
    packages = set()
    for module in imported_modules(sources):
        packages.update(name.lower() for name in distributions.get(module, []))
    packages -= JUPYTER_PACKAGES
    if framework is not None:
        packages |= ALWAYS_PINNED
    first = FRAMEWORK_PACKAGES.get(framework or "")
    ordered = sorted(packages, key=lambda name: (name != first, name))
    # A local label (2.13.0+cpu) names a build of the release, which pip finds from the
    # release alone; pinned with the label, pip would look only on the builder's index.
    return [f"{name}=={version(name).split('+')[0]}" for name in ordered]


def install_cell(
    framework: str | None, notebook: NotebookNode, book: str, requirements: list[str]
) -> NotebookNode:
    """The first cell of a downloaded notebook: what it is and the versions it ran with."""
    title = next(
        (
            line.lstrip("#").strip()
            for cell in notebook.cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("# ")
        ),
        "this chapter",
    )
    label = FRAMEWORKS.get(framework or "", "")
    what = f"The {label} notebook" if label else "The notebook"
    text = (
        f"{what} of the chapter *{title}* of the book *{book}*. Its outputs come from a run "
        f"with these versions; to install them:\n\n"
        f"```bash\npip install {' '.join(requirements)}\n```\n"
    )
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    if framework == "mxnet" and MXNET_SHIM in code:
        text += (
            "\nMXNet 1.9.1 needs numpy below 2 and still uses `np.bool`, which numpy 1.24 "
            f"removed: the first MXNet cell puts it back (`{MXNET_SHIM}`) before it imports "
            "MXNet.\n"
        )
    return nbformat.v4.new_markdown_cell(text)
