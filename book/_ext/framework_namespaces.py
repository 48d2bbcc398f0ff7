"""Keep each framework's names apart while one kernel runs a page's cells in all three.

A page runs its PyTorch, MXNet and MindSpore cells in one kernel, and every tab uses the
same names (`nn`, `net`, `X`), so a MindSpore cell would otherwise overwrite the `net`
that the next PyTorch cell means. The book's notebook reader tells the kernel, before
anything runs, which framework each code cell belongs to; before a framework's cell runs
we put back the values that framework's earlier cells bound, and after it runs we
remember what it bound. Untagged cells see and bind names as usual.

This runs only when the book is built; a downloaded single-framework notebook needs none
of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_MISSING = object()


@dataclass
class Plan:
    """Which framework each code cell of the page belongs to, in order of execution."""

    cells: list[tuple[str | None, str]]  # (framework or None, source) per code cell
    position: int = 0
    bound: dict[str, dict[str, object]] = field(default_factory=dict)  # framework -> names
    owner: dict[str, str | None] = field(default_factory=dict)  # name -> who bound it last
    current: str | None = None
    before: dict[str, int] = field(default_factory=dict)

    def framework_of(self, source: str) -> str | None:
        """The framework of the cell now running, checked against the expected source."""
        if self.position >= len(self.cells):
            return None  # cells run by hand after the page: no framework of their own
        framework, expected = self.cells[self.position]
        if source.strip() != expected.strip():
            raise RuntimeError(
                f"framework_namespaces: cell {self.position} ran out of order; "
                "the page's cells must run from top to bottom"
            )
        self.position += 1
        return framework

    def pre_run(self, namespace: dict, source: str) -> None:
        self.current = self.framework_of(source)
        if self.current is not None:
            for name, value in self.bound.get(self.current, {}).items():
                # Restore only what another framework has rebound since; a value an
                # untagged cell bound later is shared and stays.
                if self.owner.get(name) not in (None, self.current):
                    namespace[name] = value
                    self.owner[name] = self.current
        self.before = {name: id(value) for name, value in namespace.items()}

    def post_run(self, namespace: dict) -> None:
        for name, value in namespace.items():
            if name.startswith("_") or self.before.get(name) == id(value):
                continue
            self.owner[name] = self.current
            if self.current is not None:
                self.bound.setdefault(self.current, {})[name] = value


def install(cells: list[tuple[str | None, str]]) -> None:
    """Register the plan for this page with the running IPython kernel."""
    from IPython import get_ipython

    shell = get_ipython()
    plan = Plan(cells)
    shell.events.register("pre_run_cell", lambda info: plan.pre_run(shell.user_ns, info.raw_cell))
    shell.events.register("post_run_cell", lambda result: plan.post_run(shell.user_ns))
