"""Fixtures that give each test a throw-away copy of the course."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.course import DEFAULT_COURSE, copy_course
from autograder.grade import SubmissionResult, grade_assignment
from autograder.notebooks import read_notebook, with_answers
from autograder.release import release_assignments, solution_submission

#: The tiny framework-free course of the grading tests (``tests/fixtures/make_course.py``).
FIXTURE_COURSE = Path(__file__).resolve().parents[1] / "fixtures" / "course"

__all__ = [
    "CourseCopy",
    "FIXTURE_COURSE",
    "with_answers",
    "course",
    "fixture_course",
    "refuse_own_factories",
]


class CourseCopy:
    """A copy of an nbgrader course (source/ and config) in a temporary folder."""

    def __init__(self, origin: Path, root: Path) -> None:
        copy_course(origin, root)
        self.root = root
        self._released: set[str] = set()

    def assignments(self) -> list[str]:
        return sorted(p.name for p in (self.root / "source").iterdir() if p.is_dir())

    def notebook_names(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in (self.root / "source" / assignment).glob("*.ipynb"))

    def release(self, name: str) -> list[Path]:
        """Run ``release`` for an exercise (every framework) or one assignment."""
        paths = release_assignments(self.root, [name])
        self._released.update(path.parent.name for path in paths)
        return paths

    # Each framework's notebook is an nbgrader assignment of its own, of the same name
    # (``squares_pytorch``): the methods below take the exercise and the notebook's name.
    def source_notebook(self, exercise: str, name: str) -> nbformat.NotebookNode:
        return read_notebook(self.root / "source" / _stem(name) / f"{_stem(name)}.ipynb")

    def released_notebook(self, exercise: str, name: str) -> nbformat.NotebookNode:
        """The student version of a notebook (releasing its assignment if need be)."""
        if _stem(name) not in self._released:
            self.release(_stem(name))
        return read_notebook(self.root / "release" / _stem(name) / f"{_stem(name)}.ipynb")

    def solution_submission(self, exercise: str, name: str) -> nbformat.NotebookNode:
        """The released notebook with the reference solutions typed in, as handed in."""
        if _stem(name) not in self._released:
            self.release(_stem(name))
        return solution_submission(self.root, _stem(name), _stem(name))

    def submit(
        self, student: str, exercise: str, name: str, nb_or_bytes: nbformat.NotebookNode | bytes
    ) -> Path:
        """Put a notebook (or raw bytes) in submitted/<student>/<name>/<name>.ipynb."""
        path = self.root / "submitted" / student / _stem(name) / f"{_stem(name)}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(nb_or_bytes, bytes):
            path.write_bytes(nb_or_bytes)
        else:
            nbformat.write(nb_or_bytes, path)
        return path

    def grade(self, name: str, **kwargs) -> list[SubmissionResult]:
        return grade_assignment(self.root, name, **kwargs)


def refuse_own_factories(monkeypatch) -> None:
    """Make ``grade`` fail if it starts a kernel factory of its own (not the service's)."""
    from autograder.kernel import KernelFactory

    def refuse(*args, **kwargs):
        raise AssertionError("grade started a factory of its own")

    monkeypatch.setattr(KernelFactory, "spawn", classmethod(refuse))


def _stem(name: str) -> str:
    return name[: -len(".ipynb")] if name.endswith(".ipynb") else name


@pytest.fixture
def course(tmp_path: Path) -> CourseCopy:
    """A throw-away copy of the repository's course (``exercises/``)."""
    return CourseCopy(DEFAULT_COURSE, tmp_path / "course")


@pytest.fixture
def fixture_course(tmp_path: Path) -> CourseCopy:
    """A throw-away copy of the tiny framework-free course in ``tests/fixtures/course``."""
    return CourseCopy(FIXTURE_COURSE, tmp_path / "course")
