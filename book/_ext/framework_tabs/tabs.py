"""Group each run of consecutive framework cells of a page into one synchronized tab set.

After MyST-NB has parsed a page (its outputs merged in from the framework runs), every run
of consecutive framework-tagged code cells becomes one sphinx-design tab set with a tab per
framework in the fixed order, all sets in one sync group: picking a framework once switches
every tab set, the choice is remembered across pages, and ``?framework=mindspore`` in the
URL opens a page on that framework (sphinx-design's tab script does both for a sync group).
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx_design.shared import create_component

from .cells import FRAMEWORKS, cell_framework

LOGGER = logging.getLogger(__name__)
SYNC_GROUP = "framework"


def is_code_cell(node: nodes.Node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def node_framework(node: nodes.Element, source: str) -> str | None:
    where = f"{source}, line {node.line}" if node.line else source
    return cell_framework(
        list(node.get("cell_metadata", {}).get("tags", [])),
        f"{where}: code cell {node.get('cell_index', '?')}",
    )


def group(children: list[nodes.Node], framework_of) -> list[nodes.Node | list[tuple]]:
    """Children in order, each run of framework cells replaced by [(framework, cell), ...]."""
    grouped: list = []
    run: list[tuple[str, nodes.Node]] = []
    for child in children:
        framework = framework_of(child)
        if framework is not None:
            run.append((framework, child))
            continue
        if run:
            grouped.append(run)
            run = []
        grouped.append(child)
    if run:
        grouped.append(run)
    return grouped


def tab_set(run: list[tuple[str, nodes.Element]]) -> tuple[nodes.container, list[str]]:
    """A sphinx-design tab set for a run of cells: a tab per framework, in the fixed order.

    A framework without a cell in the run still gets its tab, which says so, so that a
    reader who chose it never sees another framework's code unannounced. Returns the set
    and the frameworks that had no cell.
    """
    first = run[0][1]
    items, missing = [], []
    for framework, label in FRAMEWORKS.items():
        cells = [cell for owner, cell in run if owner == framework]
        if not cells:
            missing.append(framework)
            cells = [
                nodes.paragraph(
                    "", f"This example has no {label} counterpart.", classes=["framework-missing"]
                )
            ]
        title = nodes.rubric(label, label, classes=["sd-tab-label"])
        title["sync_id"] = framework
        title["sync_group"] = SYNC_GROUP
        content = create_component("tab-content", classes=["sd-tab-content"], children=cells)
        item = create_component(
            "tab-item",
            classes=["sd-tab-item", f"framework-{framework}"],
            children=[title, content],
            selected=False,
        )
        item.source, item.line = cells[0].source or first.source, cells[0].line or first.line
        items.append(item)
    result = create_component("tab-set", classes=["sd-tab-set", "framework-tabs"], children=items)
    result.source, result.line = first.source, first.line
    return result, missing


class GroupFrameworkCells(SphinxTransform):
    """Wrap each run of consecutive framework-tagged code cells into one tab set."""

    # After MyST-NB has built the cell containers, before sphinx-design's HTML transform.
    default_priority = 500

    def apply(self, **kwargs) -> None:
        source = str(self.env.doc2path(self.env.docname, base=False))
        parents = {cell.parent for cell in self.document.findall(is_code_cell)}
        for parent in parents:
            if parent is None:
                continue
            children = []
            for entry in group(
                parent.children,
                lambda node: node_framework(node, source) if is_code_cell(node) else None,
            ):
                if not isinstance(entry, list):
                    children.append(entry)
                    continue
                tabs, missing = tab_set(entry)
                for framework in missing:
                    LOGGER.warning(
                        f"this tab set has no {FRAMEWORKS[framework]} cell; add one that "
                        f"shows what {FRAMEWORKS[framework]} does instead",
                        location=tabs,
                        type="framework_tabs",
                        subtype="missing",
                    )
                children.append(tabs)
            parent.children = []
            parent.extend(children)
