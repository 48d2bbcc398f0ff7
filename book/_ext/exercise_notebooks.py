"""A directive that links a chapter to its graded exercises and offers the student notebooks.

``{exercise-notebooks} tying`` renders one download link per framework. The student
versions (no solutions, no hidden tests) are made at build time by the course's own
release step, run on a throw-away copy of the course so that the instructor's gradebook
is never touched, and are remade only when a source notebook changes. In a chapter's
downloaded framework notebook the directive becomes a link to that framework's student
notebook, which the framework's zip of the book holds too.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
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


def source_notebooks(assignment: str) -> list[Path]:
    """The assignment's source notebooks, in the book's framework order."""
    folder = COURSE / "source" / assignment
    found = [folder / f"{assignment}_{framework}.ipynb" for framework in LABELS]
    return [path for path in found if path.is_file()]


class ExerciseNotebooks(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        assignment = self.arguments[0]
        notebooks = source_notebooks(assignment)
        if not notebooks:
            raise self.error(
                f"no exercise notebooks for {assignment!r} in {COURSE / 'source' / assignment}"
            )
        for path in notebooks:
            self.env.note_dependency(str(path))
        self.env.metadata[self.env.docname].setdefault("exercise_notebooks", []).append(
            assignment
        )
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


def release_student_notebooks(assignment: str, target: Path) -> None:
    """Write the student versions of an assignment's notebooks into `target`."""
    stamp = target / f".{assignment}.sha256"
    fingerprint = _fingerprint(assignment)
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return
    from autograder.release import release_assignments  # nbgrader: slow to import

    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copy(COURSE / "nbgrader_config.py", course)
        shutil.copytree(COURSE / "source" / assignment, course / "source" / assignment)
        try:
            released = release_assignments(course, [assignment])
        except Exception as error:  # the course's own errors are one line already
            raise ExerciseError(f"could not release {assignment!r}: {error}") from error
        for path in released:
            shutil.copy(path, target / path.name)
    stamp.write_text(fingerprint)


def _write_student_notebooks(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / DOWNLOADS
    target.mkdir(parents=True, exist_ok=True)
    assignments = {
        assignment
        for meta in app.env.metadata.values()
        for assignment in meta.get("exercise_notebooks", [])
    }
    for assignment in sorted(assignments):
        release_student_notebooks(assignment, target)


def _as_markdown(app: Sphinx, name: str, argument: str, body: str, framework: str | None,
                 folder: str) -> str | None:
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
    return [f"{DOWNLOADS}/{path.name}" for assignment in sorted(assignments)
            for path in source_notebooks(assignment) if path.stem.endswith(f"_{framework}")]


def setup(app: Sphinx) -> dict:
    app.setup_extension("framework_tabs")
    app.add_directive("exercise-notebooks", ExerciseNotebooks)
    app.connect("build-finished", _write_student_notebooks)
    app.connect("framework-tabs-directive", _as_markdown)
    app.connect("framework-tabs-zip-files", _zip_files)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
