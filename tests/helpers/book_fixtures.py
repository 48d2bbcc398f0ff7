"""A session fixture that builds the whole book strictly, the way `make book` does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

#: The execution caches of a build folder, as paths below it: the framework notebooks' runs
#: (book/_ext/framework_tabs keeps one executed notebook per run key) and jupyter-book's own
#: jupyter-cache, for pages without framework tabs. Nothing else of a build is reused.
EXECUTION_CACHES = (Path(".framework_notebooks") / "runs", Path(".jupyter_cache"))


def seed_execution_caches(origin: Path, build: Path) -> list[Path]:
    """Copy the execution caches of the build folder ``origin`` into ``build``.

    The runs are keyed by what decides their outputs (code, packages, threads), never by
    a path, so a copy lets a build elsewhere skip the kernels that ``origin``'s build ran.
    Returns the caches copied. ``origin`` is only read.
    """
    copied = []
    for cache in EXECUTION_CACHES:
        if (origin / cache).is_dir():
            shutil.copytree(origin / cache, build / cache, dirs_exist_ok=True)
            copied.append(build / cache)
    return copied


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The HTML folder of the book, built with warnings as errors.

    It builds into a temporary folder: the test run never writes into the repository's
    `_build`. So that it need not run every notebook again, the execution caches of the
    repository's `_build` (left by `make book`) are copied in first: with those up to date
    only Sphinx itself runs (some 20 s instead of a minute and a half cold).
    BOOK_CACHE_FROM names another build folder to take the caches from (`none`: build
    cold); BOOK_OUTPUT builds into that folder instead, as `make book` would with
    `--path-output` (`BOOK_OUTPUT=.` shares `_build` with `make book`, caches and all).
    """
    if os.environ.get("BOOK_OUTPUT"):
        output = Path(os.environ["BOOK_OUTPUT"]).resolve()
    else:
        output = tmp_path_factory.mktemp("book")
        origin = os.environ.get("BOOK_CACHE_FROM", str(ROOT / "_build"))
        if origin != "none":
            seed_execution_caches(Path(origin), output / "_build")
    result = subprocess.run(
        [
            str(JUPYTER_BOOK),
            "build",
            str(ROOT),
            "--builder",
            "html",
            "-W",
            "-n",
            "--keep-going",
            "--path-output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=3000,
        cwd=ROOT,
    )
    if result.returncode != 0:
        pytest.fail(
            "the book did not build strictly:\n" + result.stdout[-6000:] + result.stderr[-6000:],
            pytrace=False,
        )
    return output / "_build" / "html"
