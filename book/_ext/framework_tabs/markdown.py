"""Turn a chapter's MyST text into plain Markdown that Jupyter shows as the book means it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .cells import FrameworkTabError

LABEL = re.compile(r"^\(([^()\s]+)\)=\s*$")
COMMENT = re.compile(r"^%")
ROLE = re.compile(r"\{([a-zA-Z][\w:-]*)\}`([^`]*)`")
FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\s*(?:\{(?P<name>[\w:-]+)\})?\s*(?P<argument>.*)$")
EXPLICIT_TITLE = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
}


@dataclass(frozen=True)
class Target:
    """Where a label points: the page that defines it and the heading it stands before."""

    docname: str
    title: str


def find_targets(pages: dict[str, str]) -> dict[str, Target]:
    """Every ``(label)=`` of the given pages (docname -> MyST text), with its heading."""
    targets = {}
    for docname, text in pages.items():
        pending: list[str] = []
        for line in text.splitlines():
            if match := LABEL.match(line):
                pending.append(match.group(1))
            elif heading := HEADING.match(line):
                for label in pending:
                    targets[label] = Target(docname, plain_text(heading.group(2)))
                pending = []
            elif line.strip():
                pending = []
    return targets


def plain_text(markdown: str) -> str:
    """A heading's text as Jupyter shows it: no backticks, emphasis or roles."""
    text = ROLE.sub(lambda m: m.group(2), markdown)
    return re.sub(r"[`*_]", "", text).strip()


def jupyter_anchor(title: str) -> str:
    """The id Jupyter gives a heading: its text with spaces as hyphens."""
    return plain_text(title).replace(" ", "-")


# A directive converter: (name, argument, body) -> Markdown, or None if it does not know it.
DirectiveConverter = Callable[[str, str, str], str | None]
# A link maker: (target page docname, anchor or "") -> the link's URL, or None if no notebook.
LinkMaker = Callable[[str, str], str | None]


def to_markdown(
    text: str,
    targets: dict[str, Target],
    link: LinkMaker,
    directive: DirectiveConverter | None = None,
    where: str = "",
) -> str:
    """The text of one Markdown cell without MyST markup.

    Labels and ``%`` comments are dropped; ``{ref}`` and ``{doc}`` become Markdown links
    (or plain text where the target has no notebook); admonitions become block quotes;
    other directives go to `directive`. Anything else raises, so that no MyST markup
    reaches a downloaded notebook.
    """
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    plain_fence = None
    while i < len(lines):
        line = lines[i]
        if plain_fence is not None:  # inside a plain code block: taken as it is
            out.append(line)
            if line.strip() == plain_fence:
                plain_fence = None
            i += 1
            continue
        fence = FENCE.match(line)
        if fence and fence.group("name"):
            body, i = _directive_body(lines, i + 1, fence.group("fence"))
            out.extend(
                _directive(
                    fence.group("name"),
                    fence.group("argument").strip(),
                    body,
                    targets,
                    link,
                    directive,
                    where,
                ).splitlines()
            )
            continue
        if fence and fence.group("fence").startswith("`"):
            plain_fence = fence.group("fence")
            out.append(line)
            i += 1
            continue
        if LABEL.match(line) or COMMENT.match(line):
            i += 1
            continue
        out.append(_roles(line, targets, link, where))
        i += 1
    return "\n".join(out).strip("\n")


def _directive_body(lines: list[str], start: int, fence: str) -> tuple[str, int]:
    """The body of a directive up to its closing fence, and the index after that fence."""
    body = []
    i = start
    while i < len(lines) and lines[i].strip() != fence:
        body.append(lines[i])
        i += 1
    # Options (`:name: value` lines) come first in a body; no converter needs them.
    while body and re.match(r"^:[\w-]+:", body[0]):
        body.pop(0)
    return "\n".join(body), i + 1


def _directive(name, argument, body, targets, link, directive, where) -> str:
    if name in ADMONITIONS or name == "admonition":
        title = argument if name == "admonition" else ADMONITIONS[name]
        inner = to_markdown(body, targets, link, directive, where)
        quoted = "\n".join(f"> {line}".rstrip() for line in inner.splitlines())
        return f"> **{title}**\n>\n{quoted}"
    converted = directive(name, argument, body) if directive else None
    if converted is None:
        raise FrameworkTabError(
            f"{where}: the directive {{{name}}} has no Markdown form for the downloaded "
            "notebooks; convert it in framework_tabs.markdown or in its own extension"
        )
    return converted


def _roles(line: str, targets: dict[str, Target], link: LinkMaker, where: str) -> str:
    def replace(match: re.Match) -> str:
        role, content = match.group(1), match.group(2)
        explicit = EXPLICIT_TITLE.match(content)
        title, target = (
            (explicit.group("title"), explicit.group("target")) if explicit else (None, content)
        )
        if role == "ref":
            found = targets.get(target)
            if found is None:
                raise FrameworkTabError(f"{where}: {{ref}} to the unknown label '{target}'")
            url = link(found.docname, jupyter_anchor(found.title))
            text = title or found.title
        elif role == "doc":
            url = link(target, "")
            text = title or target
        elif role == "math":
            return f"${content}$"
        elif role in ("code", "literal"):
            return f"`{content}`"
        else:
            raise FrameworkTabError(
                f"{where}: the role {{{role}}} has no Markdown form for the downloaded notebooks"
            )
        return f"[{text}]({url})" if url else text

    return ROLE.sub(replace, line)


def leftover_markup(text: str) -> list[str]:
    """Lines of Markdown that still hold MyST markup (labels, comments, roles, directives)."""
    found = []
    code_fence = None  # the fence of the code block we are in, if any
    directives = []  # the fences of the directives we are in
    for line in text.splitlines():
        stripped = line.strip()
        if code_fence is not None:
            if stripped == code_fence:
                code_fence = None
            continue
        fence = FENCE.match(stripped)
        if fence and fence.group("name"):
            found.append(line)
            directives.append(fence.group("fence"))
        elif directives and stripped == directives[-1]:
            directives.pop()
        elif fence and fence.group("fence").startswith("`"):
            code_fence = fence.group("fence")
        elif LABEL.match(line) or COMMENT.match(line) or ROLE.search(line):
            found.append(line)
    return found


def cells_markup(sources: Iterable[str]) -> list[str]:
    """MyST markup left in any of the given Markdown sources."""
    return [line for source in sources for line in leftover_markup(source)]
