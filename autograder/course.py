"""The nbgrader course on disk: where its folders are and what it holds."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pmcheck import FRAMEWORKS  # re-exported: the one list of the frameworks
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

#: The repository's own course; every command works on it unless told otherwise.
DEFAULT_COURSE = Path(__file__).resolve().parent.parent / "exercises"


def _tools_on_path() -> None:
    """Put this interpreter's scripts on PATH: nbgrader runs ``alembic`` to create a gradebook.

    Called by ``Course.coursedir``, through which every use of nbgrader's gradebook goes;
    importing this module changes nothing.
    """
    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(filter(None, [scripts, os.environ.get("PATH")]))


class CourseError(Exception):
    """Bad input from the user: the message is one line meant to be shown as is."""


def quiet_log() -> logging.Logger:
    """A logger for nbgrader's classes that keeps their chatter off the terminal."""
    log = logging.getLogger("autograder.nbgrader")
    log.propagate = False
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return log


def framework_of(notebook: str) -> str | None:
    """The framework a notebook is written for, from its name (``tying_mxnet`` -> mxnet)."""
    suffix = notebook.rsplit("_", 1)[-1]
    return suffix if suffix in FRAMEWORKS else None


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory (source/, release/, submitted/, ... and gradebook.db)."""

    root: Path

    @classmethod
    def open(cls, course_dir: Path | str | None = None) -> Course:
        """The course at ``course_dir`` (the repository's course by default), checked."""
        root = Path(course_dir) if course_dir is not None else DEFAULT_COURSE
        if not root.is_dir():
            raise CourseError(f"no course directory at {root}")
        if not (root / "source").is_dir():
            raise CourseError(f"{root} is not an nbgrader course: it has no source/ folder")
        return cls(root.resolve())

    @cached_property
    def config(self) -> Config:
        """The course's nbgrader configuration (``nbgrader_config.py``), if it has one."""
        if not (self.root / "nbgrader_config.py").is_file():
            return Config()
        try:
            return PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        except Exception as error:  # a broken config file is the user's input
            raise CourseError(f"cannot read {self.root / 'nbgrader_config.py'}: {error}") from None

    def coursedir(self):
        """nbgrader's view of this course, rooted here whatever the config says."""
        from nbgrader.coursedir import CourseDirectory

        _tools_on_path()  # nbgrader's gradebook, behind it, may need alembic
        return CourseDirectory(config=self.config, root=str(self.root), log=quiet_log())

    @property
    def db_url(self) -> str:
        return self.coursedir().db_url

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    def assignments(self) -> list[str]:
        """Every assignment with a folder in source/, sorted."""
        return sorted(
            p.name for p in self.source.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def exercises(self) -> dict[str, list[str]]:
        """Each exercise and its assignments, one per framework, in framework order."""
        groups: dict[str, list[str]] = {}
        for assignment in self.assignments():
            groups.setdefault(exercise_of(assignment), []).append(assignment)
        return {name: sorted(found, key=_framework_order) for name, found in groups.items()}

    def resolve(self, name: str) -> tuple[str, list[str]]:
        """The exercise ``name`` means and the assignments it covers.

        An exercise (``tying``) covers its assignment in every framework; an assignment
        (``tying_mxnet``) covers itself. Anything else is a one-line error naming the choices.
        """
        exercises = self.exercises()
        if name in exercises:
            return name, exercises[name]
        if name in self.assignments():
            return exercise_of(name), [name]
        choices = ", ".join(exercises) or "none"
        raise CourseError(
            f"{self.root} has no exercise or assignment {name!r} (its exercises: "
            f"{choices}; or name one framework's assignment, e.g. "
            f"{next(iter(exercises.values()), ['tying_mxnet'])[0]})"
        )

    def require_assignment(self, assignment: str) -> str:
        """``assignment`` if the course has it; otherwise a one-line error naming the choices."""
        known = self.assignments()
        if assignment not in known:
            choices = ", ".join(known) or "none"
            raise CourseError(f"unknown assignment {assignment!r} (the course has: {choices})")
        return assignment

    def notebooks(self, assignment: str) -> list[str]:
        """The assignment's notebook names (no ``.ipynb``), in framework order."""
        names = [p.stem for p in (self.source / assignment).glob("*.ipynb")]
        return sorted(names, key=_framework_order)

    def students(self, assignment: str) -> list[str]:
        """Everyone with a folder for ``assignment`` in submitted/, sorted."""
        if not self.submitted.is_dir():
            return []
        return sorted(
            p.name
            for p in self.submitted.iterdir()
            if (p / assignment).is_dir() and not p.name.startswith(".")
        )

    def submission_dir(self, student: str, assignment: str) -> Path:
        return self.submitted / student / assignment

    def released_path(self, assignment: str, notebook: str) -> Path:
        return self.release / assignment / f"{notebook}.ipynb"


def counted(scores: dict[str, tuple[float, float]]) -> str | None:
    """The course's one rule for a learner who hands in several frameworks: which counts.

    ``scores`` maps each notebook handed in to its (score, maximum). The best fraction of
    its own maximum counts; a tie goes to the larger maximum, then to the framework that
    comes first. None when nothing was handed in.
    """
    if not scores:
        return None

    def merit(name: str) -> tuple:
        score, maximum = scores[name]
        order, _ = _framework_order(name)
        return (score / maximum if maximum else 0.0, maximum, -order)

    return max(sorted(scores), key=merit)


def exercise_of(assignment: str) -> str:
    """The exercise an assignment is a framework's version of (``tying_mxnet`` -> tying)."""
    return assignment.rsplit("_", 1)[0] if framework_of(assignment) else assignment


def copy_course(origin: Path | str, root: Path | str) -> Course:
    """A new course at ``root`` with ``origin``'s sources and configuration, nothing else."""
    import shutil

    origin, root = Path(origin), Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(origin / "source", root / "source")
    if (origin / "nbgrader_config.py").exists():
        shutil.copy(origin / "nbgrader_config.py", root / "nbgrader_config.py")
    return Course.open(root)


def _framework_order(name: str) -> tuple[int, str]:
    framework = framework_of(name)
    return (FRAMEWORKS.index(framework) if framework else len(FRAMEWORKS), name)
