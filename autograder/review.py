"""Answers that reach into the machinery, flagged for the instructor to review.

A flag is not a verdict: verdicts are decided outside the kernel, where none of this can
change them. But an answer that installs IPython hooks, edits ``sys.modules``, traces,
walks frames or calls into C has no business doing so in this course, and an instructor
wants to look at it.

One cheat does earn points, and the flags are what shows it: an answer that replaces the
probe (or imitates its messages) and reports data it computed some other way, e.g. a
tied network simulated in numpy with the checker's own formulas. The grader can check
that the data is right, not that a framework computed it. Such an answer has to reach the
checker (``pmcheck``), the kernel's display or messaging, replace a module's attribute or
run code built at run time (``exec``), and each of those is flagged.
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
    "pmcheck": "the checker's internals (pmcheck)",
    "display": "IPython's display",
    "publish_display_data": "IPython's display",
    "ipykernel": "the kernel's messaging",
    "jupyter_client": "the kernel's messaging",
    "zmq": "the kernel's messaging",
    "exec": "code built at run time (exec)",
    "eval": "code built at run time (eval)",
    "compile": "code built at run time (compile)",
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
    "probe_cell": "the probe (probe_cell)",
    "send_raw": "the kernel's messaging",
    "iopub_socket": "the kernel's messaging",
    "display_pub": "IPython's display",
    "_repr_mimebundle_": "a rich-display hook",
    "_ipython_display_": "a rich-display hook",
}
#: Strings flagged where they occur in an answer: module names, and the checker's names.
_MODULE_STRINGS = ("sys", "builtins", "ctypes", "gc", "inspect", "importlib")
_NAMED_STRINGS = ("pmcheck", "autograder")
_SHOWN = 4  #: reasons named in a flag's line


@dataclass(frozen=True)
class Flag:
    """One answer cell to review, and what in it reaches into the machinery."""

    notebook: str
    answer: str  #: the answer cell's grade_id
    found: tuple[tuple[int, str], ...]  #: (line, what)

    def __str__(self) -> str:
        lines: dict[str, list[int]] = {}  # each reason once, in the order it first appears
        for line, what in self.found:
            lines.setdefault(what, []).append(line)
        reasons = list(lines.items())
        shown = ", ".join(
            f"{what} (line{'s' if len(at) > 1 else ''} {', '.join(map(str, at))})"
            for what, at in reasons[:_SHOWN]
        )
        more = f" and {len(reasons) - _SHOWN} more" if len(reasons) > _SHOWN else ""
        return f"{self.notebook}.ipynb: review {self.answer}: it uses {shown}{more}"


def machinery_flags(nb: NotebookNode, notebook: str) -> list[Flag]:
    """One flag per answer cell of ``nb`` that touches the machinery."""
    trees = [(cell, _parse(cell.source)) for cell in nb.cells if cell.cell_type == "code"]
    modules = frozenset().union(*(_imported(tree) for _, tree in trees))
    flags = []
    for cell, tree in trees:
        if is_answer(cell):
            found = _found(tree, modules)
            if found:
                flags.append(Flag(notebook, grade_id(cell) or "?", tuple(found)))
    return flags


def uses(source: str, modules: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, what) for each flagged use in ``source``; nothing for code that does not parse.

    ``modules``: the names the notebook binds by importing, besides those ``source`` binds;
    an answer that assigns to an attribute of one (``probing.probe_cell = ...``) is flagged.
    """
    return _found(_parse(source), modules)


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _found(tree: ast.AST | None, modules: frozenset[str]) -> list[tuple[int, str]]:
    if tree is None:
        return []
    modules = modules | _imported(tree)
    found: dict[tuple[int, str], None] = {}
    for node in ast.walk(tree):
        for what in _flagged(node) + _patches(node, modules):
            found[(getattr(node, "lineno", 0), what)] = None
    return sorted(found)


def _imported(tree: ast.AST | None) -> frozenset[str]:
    """The names ``tree`` binds by importing (``import a.b`` binds ``a``)."""
    names = set()
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
    return frozenset(names)


def _patches(node: ast.AST, modules: frozenset[str]) -> list[str]:
    """A module's attribute replaced or deleted, by assignment or by setattr/delattr."""
    if isinstance(node, (ast.Assign, ast.Delete)):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("setattr", "delattr")
        and node.args
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in modules
    ):
        return [f"a module's attribute replaced ({node.func.id} on {node.args[0].id})"]
    else:
        return []
    found = []
    for target in targets:
        for part in ast.walk(target):
            if isinstance(part, ast.Attribute) and _root(part) in modules:
                found.append(f"a module's attribute replaced ({_dotted(part)})")
    return found


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


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
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _ATTRIBUTES:
        return [_ATTRIBUTES[node.name]]
    if isinstance(node, ast.keyword) and node.arg == "raw":
        return ["raw display output (raw=...)"]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if node.value in _MODULE_STRINGS:
            return [f"the module name {node.value!r} as a string"]
        if any(name in node.value for name in _NAMED_STRINGS):
            return ["the checker's names in a string"]
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
