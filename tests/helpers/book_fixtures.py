"""A session fixture that builds the whole book strictly, the way `make book` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The HTML folder of the book, built with warnings as errors.

    It builds into `_build` like `make book`, so the execution cache is shared: after a
    `make book` nothing is executed again. BOOK_OUTPUT moves the build elsewhere.
    """
    output = Path(os.environ.get("BOOK_OUTPUT", ROOT))
    result = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(ROOT), "--builder", "html", "-W", "-n",
         "--keep-going", "--path-output", str(output)],
        capture_output=True, text=True, timeout=3000, cwd=ROOT,
    )
    if result.returncode != 0:
        pytest.fail(
            "the book did not build strictly:\n" + result.stdout[-6000:] + result.stderr[-6000:],
            pytrace=False,
        )
    return output / "_build" / "html"
