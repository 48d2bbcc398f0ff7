"""Read the framework tab sets of a built book page, for tests that assert on its outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup


@dataclass(frozen=True)
class TabSet:
    labels: list[str]  # visible tab labels, in page order
    frameworks: list[str]  # the sync ids behind them: pytorch, mxnet, mindspore
    sync_groups: set[str]
    sources: dict[str, str]  # framework -> the code of its cells
    outputs: dict[str, str]  # framework -> the text of its executed outputs
    texts: dict[str, str]  # framework -> all the text of its tab


def page(html_path: Path) -> BeautifulSoup:
    return BeautifulSoup(Path(html_path).read_text(encoding="utf-8"), "html.parser")


def tab_sets(html_path: Path) -> list[TabSet]:
    """Every framework tab set on a page, in order."""
    sets = []
    for tab_set in page(html_path).select("div.sd-tab-set.framework-tabs"):
        labels = tab_set.find_all("label", class_="sd-tab-label", recursive=False)
        contents = tab_set.find_all("div", class_="sd-tab-content", recursive=False)
        frameworks = [label["data-sync-id"] for label in labels]
        sets.append(
            TabSet(
                labels=[label.get_text(strip=True) for label in labels],
                frameworks=frameworks,
                sync_groups={label["data-sync-group"] for label in labels},
                sources={
                    fw: "\n".join(c.get_text() for c in content.select("div.cell_input"))
                    for fw, content in zip(frameworks, contents)
                },
                outputs={
                    fw: "\n".join(c.get_text() for c in content.select("div.cell_output"))
                    for fw, content in zip(frameworks, contents)
                },
                texts={fw: content.get_text() for fw, content in zip(frameworks, contents)},
            )
        )
    return sets


def images_in_tabs(html_path: Path) -> dict[str, int]:
    """How many images the executed outputs in each framework's tabs hold, over a page."""
    counts: dict[str, int] = {}
    for tab_set in page(html_path).select("div.sd-tab-set.framework-tabs"):
        labels = tab_set.find_all("label", class_="sd-tab-label", recursive=False)
        contents = tab_set.find_all("div", class_="sd-tab-content", recursive=False)
        for label, content in zip(labels, contents):
            framework = label["data-sync-id"]
            counts[framework] = counts.get(framework, 0) + len(
                content.select("div.cell_output img")
            )
    return counts


def outputs_of(html_path: Path, framework: str) -> str:
    """All executed output text of one framework's tabs on a page."""
    return "\n".join(ts.outputs.get(framework, "") for ts in tab_sets(html_path))
