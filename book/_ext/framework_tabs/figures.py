"""One number for a figure that each framework's tab draws for itself.

An untagged cell whose outputs differ between the frameworks becomes one copy per
framework (see notebooks.merge), and its figure one figure per tab, labelled
``<name>-<framework>``. Sphinx would number them Fig. 3.1, 3.2 and 3.3; a reader sees one
tab at a time, so the copies share one number, and the figures after them follow on.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from .cells import FRAMEWORKS
from .notebooks import twin_figure_name


def figure_key(figure_id: str) -> str:
    """The figure a copy belongs to: its label without the framework suffix."""
    for framework in FRAMEWORKS:
        suffix = twin_figure_name("", framework)
        if figure_id.endswith(suffix):
            return figure_id[: -len(suffix)]
    return figure_id


def shared_numbers(numbers: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """Figure numbers of one page with every framework's copy of a figure on one number."""
    renumbered: dict[str, tuple[int, ...]] = {}
    given: dict[tuple, tuple[int, ...]] = {}  # (prefix, figure) -> its new number
    counters: dict[tuple[int, ...], int] = {}
    for figure_id, number in sorted(numbers.items(), key=lambda item: item[1]):
        prefix = number[:-1]
        key = (prefix, figure_key(figure_id))
        if key not in given:
            counters[prefix] = counters.get(prefix, 0) + 1
            given[key] = (*prefix, counters[prefix])
        renumbered[figure_id] = given[key]
    return renumbered


def share_numbers(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Renumber every page's figures; the pages whose numbers that changed are rewritten."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        if "figure" in by_type:
            numbers = shared_numbers(by_type["figure"])
            if numbers != by_type["figure"]:
                by_type["figure"] = numbers
                changed.append(docname)
    return changed


def setup(app: Sphinx) -> None:
    # After Sphinx's own numbering, which runs on the same event at the default priority.
    app.connect("env-get-updated", share_numbers, priority=900)
