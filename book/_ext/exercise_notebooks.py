"""A directive that links a chapter to its graded exercises and offers the student notebooks.

``{exercise-notebooks} tying`` renders one download link per framework. The student
versions (no solutions, no hidden tests) are made at build time by the course's own
release step (``python -m autograder release``), run on a throw-away copy of the course so
that the instructor's gradebook is never touched, in processes that start before the
chapters execute and run beside them, and are remade only when a source notebook changes. In a chapter's
downloaded framework notebook the directive becomes a link to that framework's student
notebook, which the framework's zip of the book holds too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from docutils import nodes
from framework_tabs import FRAMEWORKS as LABELS
from sphinx.application import Sphinx
from sphinx.errors import SphinxError
from sphinx.util.docutils import SphinxDirective

COURSE = Path(__file__).resolve().parents[2] / "exercises"
DOWNLOADS = "_downloads/exercises"


class ExerciseError(SphinxError):
    category = "Exercise notebooks error"


def source_notebooks(exercise: str) -> list[Path]:
    """The exercise's source notebooks, in the book's framework order: each framework's is
    an nbgrader assignment of its own, ``source/<exercise>_<framework>/``."""
    found = [
        COURSE / "source" / f"{exercise}_{framework}" / f"{exercise}_{framework}.ipynb"
        for framework in LABELS
    ]
    return [path for path in found if path.is_file()]


class ExerciseNotebooks(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        assignment = self.arguments[0]
        notebooks = source_notebooks(assignment)
        if not notebooks:
            raise self.error(
                f"no exercise notebooks for {assignment!r} in {COURSE / 'source'} "
                f"({assignment}_<framework>/)"
            )
        for path in notebooks:
            self.env.note_dependency(str(path))
        self.env.metadata[self.env.docname].setdefault("exercise_notebooks", []).append(assignment)
        up = "../" * self.env.docname.count("/")
        para = nodes.paragraph(classes=["exercise-notebooks"])
        para += nodes.Text("Student notebooks: ")
        for i, path in enumerate(notebooks):
            if i:
                para += nodes.Text(" · ")
            label = LABELS[path.stem.rsplit("_", 1)[-1]]
            para += nodes.reference(label, label, refuri=f"{up}{DOWNLOADS}/{path.name}")
        return [para]


def _fingerprint(assignment: str) -> str:
    digest = hashlib.sha256((COURSE / "nbgrader_config.py").read_bytes())
    for path in source_notebooks(assignment):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


class Release:
    """Assignments' student notebooks being made by `python -m autograder release`.

    It runs in a process of its own on a throw-away copy of the course, so that the book
    can go on (executing its chapters) while nbgrader writes the notebooks; one process
    for all of them, so that nbgrader is imported once and takes one core at most.
    """

    def __init__(self, assignments: list[str], target: Path) -> None:
        self.assignments, self.target = assignments, target
        self.fingerprints = {name: _fingerprint(name) for name in assignments}
        self._scratch = tempfile.TemporaryDirectory(prefix="release-")
        self.course = Path(self._scratch.name)
        shutil.copy(COURSE / "nbgrader_config.py", self.course)
        for name in assignments:
            for path in source_notebooks(name):
                shutil.copytree(path.parent, self.course / "source" / path.parent.name)
        self._log = open(self.course / "release.log", "w+b")  # noqa: SIM115 - closed in close
        package = importlib.util.find_spec("autograder").submodule_search_locations[0]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(package).parent), os.environ.get("PYTHONPATH", "")]
            ),
        }
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder",
                "release",
                *assignments,
                "--course",
                str(self.course),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.course,
        )

    def finish(self) -> None:
        """Wait for the release, then copy its notebooks into the target folder."""
        try:
            if self._process.wait() != 0:
                self._log.seek(0)
                lines = self._log.read().decode(errors="replace").strip().splitlines()
                raise ExerciseError(
                    f"could not release {', '.join(self.assignments)}: "
                    f"{lines[-1] if lines else 'no output'}"
                )
            self.target.mkdir(parents=True, exist_ok=True)
            for name in self.assignments:
                for path in sorted((self.course / "release").glob(f"{name}_*/*.ipynb")):
                    shutil.copy(path, self.target / path.name)
                _stamp(name, self.target).write_text(self.fingerprints[name])
        finally:
            self.close()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._log.close()
        self._scratch.cleanup()


def _stamp(assignment: str, target: Path) -> Path:
    return target / f".{assignment}.sha256"


def up_to_date(assignment: str, target: Path) -> bool:
    stamp = _stamp(assignment, target)
    return stamp.is_file() and stamp.read_text() == _fingerprint(assignment)


def release_student_notebooks(assignments: list[str], target: Path) -> None:
    """Write the student versions of the assignments' notebooks into `target`."""
    stale = [name for name in assignments if not up_to_date(name, target)]
    if stale:
        Release(stale, target).finish()


_RELEASES: list[Release] = []  # started early in this build, finished at its end
DIRECTIVE = re.compile(r"^(?:`{3,}|:{3,})\{exercise-notebooks\}\s+(\S+)", re.MULTILINE)


def _start_releases(app: Sphinx, env, docnames: list[str]) -> None:
    """Start the releases the pages ask for, to run while the chapters execute."""
    if app.builder.format != "html":
        return
    target = Path(app.outdir) / DOWNLOADS
    wanted = set()
    for docname in env.found_docs:
        path = Path(env.doc2path(docname))
        if path.suffix == ".md" and path.is_file():
            wanted.update(DIRECTIVE.findall(path.read_text(encoding="utf-8")))
    started = {name for release in _RELEASES for name in release.assignments}
    stale = [
        name
        for name in sorted(wanted - started)
        if source_notebooks(name) and not up_to_date(name, target)
    ]
    if stale:
        _RELEASES.append(Release(stale, target))


def _write_student_notebooks(app: Sphinx, exception: Exception | None) -> None:
    started = list(_RELEASES)
    _RELEASES.clear()
    try:
        if exception is not None or app.builder.format != "html":
            return
        target = Path(app.outdir) / DOWNLOADS
        target.mkdir(parents=True, exist_ok=True)
        while started:
            started.pop(0).finish()
        assignments = {
            assignment
            for meta in app.env.metadata.values()
            for assignment in meta.get("exercise_notebooks", [])
        }
        release_student_notebooks(sorted(assignments), target)  # what the pages added
    finally:
        for release in started:
            release.close()


def _as_markdown(
    app: Sphinx, name: str, argument: str, body: str, framework: str | None, folder: str
) -> str | None:
    """The directive in a downloaded chapter notebook: a link to its framework's notebook."""
    if name != "exercise-notebooks":
        return None
    path = next((p for p in source_notebooks(argument) if p.stem.endswith(f"_{framework}")), None)
    if path is None:
        return ""
    link = posixpath.relpath(f"{DOWNLOADS}/{path.name}", folder)
    return f"Student notebook: [{path.name}]({link})"


def _zip_files(app: Sphinx, framework: str) -> list[str]:
    """The student notebooks of a framework, for the zip of its chapter notebooks."""
    assignments = {
        assignment
        for meta in app.env.metadata.values()
        for assignment in meta.get("exercise_notebooks", [])
    }
    return [
        f"{DOWNLOADS}/{path.name}"
        for assignment in sorted(assignments)
        for path in source_notebooks(assignment)
        if path.stem.endswith(f"_{framework}")
    ]


def setup(app: Sphinx) -> dict:
    app.setup_extension("framework_tabs")
    app.add_directive("exercise-notebooks", ExerciseNotebooks)
    # Before the chapters' notebooks run (framework_tabs, priority 500), so that both overlap.
    app.connect("env-before-read-docs", _start_releases, priority=400)
    app.connect("build-finished", _write_student_notebooks)
    app.connect("framework-tabs-directive", _as_markdown)
    app.connect("framework-tabs-zip-files", _zip_files)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
