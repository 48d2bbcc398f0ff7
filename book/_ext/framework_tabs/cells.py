"""Which framework a chapter's code cell belongs to, read from its tags."""

from __future__ import annotations

import difflib

from pmcheck import FRAMEWORK_NAMES
from sphinx.errors import SphinxError

# The book's frameworks in tab order, with the labels readers see: the one list that the
# course and the grader read too (pmcheck imports nothing to give it).
FRAMEWORKS: dict[str, str] = dict(FRAMEWORK_NAMES)
# Tags that name a framework the book does not cover: almost surely a mistake.
FOREIGN_FRAMEWORKS = {"torch", "mx", "gluon", "ms", "tensorflow", "tf", "keras", "jax", "paddle"}
# Tags that change how a cell runs, so a change to them must run the cell again.
EXECUTION_TAGS = ("raises-exception", "skip-execution")


class FrameworkTabError(SphinxError):
    """A chapter's cells cannot be split into frameworks, run or put into tabs."""

    category = "Framework tabs error"


def cell_framework(tags: list[str], where: str) -> str | None:
    """The framework a code cell is tagged with, None if untagged; raises on bad tags.

    `where` names the cell in error messages, e.g. ``book/tying.md, line 40: code cell 3``.
    """
    found = [tag for tag in tags if tag in FRAMEWORKS]
    if len(found) > 1:
        raise FrameworkTabError(
            f"{where} has {len(found)} framework tags ({', '.join(found)}); "
            "a cell belongs to exactly one framework tab"
        )
    for tag in tags:
        if tag in FRAMEWORKS:
            continue
        near = difflib.get_close_matches(tag.lower(), FRAMEWORKS, n=1, cutoff=0.75)
        if tag.lower() in FOREIGN_FRAMEWORKS or tag.lower() in FRAMEWORKS or near:
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise FrameworkTabError(
                f"{where} has the unknown framework tag '{tag}'{hint}; "
                f"the framework tags are {', '.join(FRAMEWORKS)}"
            )
    return found[0] if found else None


def tags_of(cell) -> list[str]:
    """A notebook cell's tags."""
    return list(cell.get("metadata", {}).get("tags", []))
