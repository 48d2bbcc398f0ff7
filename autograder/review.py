"""Answers that reach into the machinery, flagged for the instructor to review.

A flag is not a verdict: verdicts are decided outside the kernel, where none of this can
change them. But an answer that installs IPython hooks, edits ``sys.modules``, traces,
walks frames or calls into C has no business doing so in this course, and an instructor
wants to look at it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nbformat import NotebookNode

from .notebooks import grade_id, is_answer

#: Dotted names (or their last part) whose use is flagged, with the reason shown.
_NAMES = {
    "get_ipython": "IPython's hooks (get_ipython)",
    "IPython": "IPython's hooks",
    "sys.modules": "sys.modules",
    "sys.meta_path": "an import hook (sys.meta_path)",
    "sys.path_hooks": "an import hook (sys.path_hooks)",
    "builtins": "builtins",
    "__builtins__": "builtins",
    "__import__": "__import__",
    "importlib": "importlib",
    "sys.settrace": "tracing (sys.settrace)",
    "sys.setprofile": "tracing (sys.setprofile)",
    "threading.settrace": "tracing (threading.settrace)",
    "sys.excepthook": "sys.excepthook",
    "sys._getframe": "frames (sys._getframe)",
    "inspect": "frames (inspect)",
    "ctypes": "ctypes",
    "gc": "the garbage collector (gc)",
    "types.CodeType": "code objects",
    "types.FunctionType": "code objects",
}
#: Attributes flagged wherever they appear (frames, code objects, closures).
_ATTRIBUTES = {
    "f_back": "frames",
    "f_locals": "frames",
    "f_globals": "frames",
    "f_code": "frames",
    "tb_frame": "frames",
    "gi_frame": "frames",
    "__code__": "code objects",
    "co_code": "code objects",
    "__globals__": "function globals",
    "__closure__": "closures",
    "__subclasses__": "class internals",
}
_SHOWN = 3


@dataclass(frozen=True)
class Flag:
    """One answer cell to review, and what in it reaches into the machinery."""

    notebook: str
    answer: str  #: the answer cell's grade_id
    found: tuple[tuple[int, str], ...]  #: (line, what)

    def __str__(self) -> str:
        shown = ", ".join(f"{what} (line {line})" for line, what in self.found[:_SHOWN])
        more = f" and {len(self.found) - _SHOWN} more" if len(self.found) > _SHOWN else ""
        return f"{self.notebook}.ipynb: review {self.answer}: it uses {shown}{more}"


def machinery_flags(nb: NotebookNode, notebook: str) -> list[Flag]:
    """One flag per answer cell of ``nb`` that touches the machinery."""
    flags = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_answer(cell):
            found = uses(cell.source)
            if found:
                flags.append(Flag(notebook, grade_id(cell) or "?", tuple(found)))
    return flags


def uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for each flagged use in ``source``; nothing for code that does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: dict[tuple[int, str], None] = {}
    for node in ast.walk(tree):
        for what in _flagged(node):
            found[(getattr(node, "lineno", 0), what)] = None
    return sorted(found)


def _flagged(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return _modules([alias.name for alias in node.names])
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return _modules([module] + [f"{module}.{alias.name}" for alias in node.names])
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node)
        if dotted in _NAMES:
            return [_NAMES[dotted]]
        if node.attr in _ATTRIBUTES:
            return [_ATTRIBUTES[node.attr]]
        return []
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return [_NAMES[node.id]]
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in ("sys", "builtins", "ctypes", "gc", "inspect", "importlib")
    ):
        return [f"the module name {node.value!r} as a string"]
    return []


def _modules(names: list[str]) -> list[str]:
    keys = [name if name in _NAMES else name.split(".")[0] for name in names]
    return [_NAMES[key] for key in keys if key in _NAMES]


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))
