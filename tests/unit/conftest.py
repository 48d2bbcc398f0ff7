"""tests/unit: pure functions only, no kernel, no subprocess, no book build, no network.

Collection fails if a test here carries one of the marks of the slow lanes, and every test
here runs with ``subprocess`` refused, so a test that starts a kernel or a tool fails at
once instead of slowing the lane down.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

# jupytext asks for `pandoc --version` when it is first imported: a library's probe, once,
# before the guard below, not a process that a test starts.
import jupytext  # noqa: F401, E402  (used by autograder.sources)

HERE = Path(__file__).resolve().parent
#: The marks that say a test needs more than Python: none of them belongs here.
HEAVY = ("slow", "determinism", "kernel", "book", "browser")


def pytest_collection_modifyitems(config, items):
    wrong = [
        f"{item.nodeid} ({', '.join(m.name for m in item.iter_markers() if m.name in HEAVY)})"
        for item in items
        if HERE in Path(item.path).resolve().parents
        and any(m.name in HEAVY for m in item.iter_markers())
    ]
    if wrong:
        raise pytest.UsageError(
            "tests/unit holds pure tests only; these carry marks of the "
            "slow lanes: " + "; ".join(wrong)
        )


@pytest.fixture(autouse=True)
def _no_subprocess(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a unit test started a process: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
