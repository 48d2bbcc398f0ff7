"""One MyST source per exercise, written once, made into one nbgrader source per framework.

``exercises/<exercise>.md`` is a MyST text notebook like the chapters: untagged cells are
shared, cells tagged ``pytorch``, ``mxnet`` or ``mindspore`` belong to that framework alone.
A cell's nbgrader role goes in its options, in nbgrader's own words or in short::

    ```{code-cell} ipython3
    :nbgrader: {kind: tests, grade_id: tied_grad_is_sum, points: 4}
    ```

with ``kind`` one of ``answer`` (autograded answer), ``tests`` (autograder tests),
``manual`` (answer graded by hand), ``task`` and ``readonly``. Shared text may name its
framework: ``{{ framework }}`` (``mxnet``), ``{{ Framework }}`` (``MXNet``), ``{{ notebook }}``
(``tying_mxnet``) and ``{{ exercise }}`` (``tying``); ``{{ guide }}`` stands for the course's
``guide.md``, the how-to-work text every exercise shares.

Each framework's version is an nbgrader assignment of its own, ``source/tying_mxnet/
tying_mxnet.ipynb``, so that nbgrader's own views (formgrader, ``nbgrader export``) show a
learner's score out of that notebook's points. The generated notebooks are committed, so a
clone works with every nbgrader tool at once; ``python -m autograder sources`` writes them
and a test fails when they differ from what the sources make.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from pmcheck import FRAMEWORK_NAMES, FRAMEWORKS

from .course import CourseError

#: nbgrader's metadata for each short ``kind``.
KINDS = {
    "answer": {"grade": False, "solution": True, "locked": False, "task": False},
    "tests": {"grade": True, "solution": False, "locked": True, "task": False},
    "manual": {"grade": True, "solution": True, "locked": False, "task": False},
    "task": {"grade": False, "solution": False, "locked": True, "task": True},
    "readonly": {"grade": False, "solution": False, "locked": True, "task": False},
}
NEEDS_POINTS = ("tests", "manual", "task")


@dataclass(frozen=True)
class Exercise:
    """An exercise's MyST source and the nbgrader assignments made from it."""

    path: Path  #: exercises/<name>.md

    @property
    def name(self) -> str:
        return self.path.stem

    def assignment(self, framework: str) -> str:
        return f"{self.name}_{framework}"


def exercises(course_root: Path) -> list[Exercise]:
    """The exercise sources of a course: every ``*.md`` with a jupytext header, sorted."""
    found = []
    for path in sorted(Path(course_root).glob("*.md")):
        head = path.read_text(encoding="utf-8")[:400]
        if head.startswith("---") and "jupytext:" in head:
            found.append(Exercise(path))
    return found


def build(exercise: Exercise) -> dict[str, NotebookNode]:
    """Each framework's nbgrader source notebook, made from the exercise's MyST source."""
    import jupytext

    try:
        page = jupytext.read(exercise.path, fmt="md:myst")
    except Exception as error:  # noqa: BLE001 -- jupytext raises many kinds
        raise CourseError(
            f"{exercise.path}: not a MyST notebook jupytext can read: " f"{error}"
        ) from None
    for index, cell in enumerate(page.cells):
        _framework_of(cell, f"{exercise.path.name}, cell {index + 1}")
    return {framework: _version(exercise, page, framework) for framework in FRAMEWORKS}


def _framework_of(cell: NotebookNode, where: str) -> str | None:
    tags = list(cell.get("metadata", {}).get("tags", []))
    found = [tag for tag in tags if tag in FRAMEWORK_NAMES]
    if len(found) > 1:
        raise CourseError(
            f"{where} has the framework tags {', '.join(found)}; a cell "
            "belongs to one framework or to all"
        )
    return found[0] if found else None


def _version(exercise: Exercise, page: NotebookNode, framework: str) -> NotebookNode:
    words = {
        "framework": framework,
        "Framework": FRAMEWORK_NAMES[framework],
        "notebook": exercise.assignment(framework),
        "exercise": exercise.name,
    }
    guide = exercise.path.parent / "guide.md"
    if guide.is_file():  # filled in first: it has placeholders of its own
        words = {"guide": guide.read_text(encoding="utf-8").strip(), **words}
    cells = []
    for index, cell in enumerate(page.cells):
        if _framework_of(cell, "") not in (None, framework):
            continue
        where = f"{exercise.path.name}, cell {index + 1}"
        source = _fill(cell.source, words, where)
        metadata = {key: value for key, value in cell.metadata.items() if key != "tags"}
        tags = [tag for tag in cell.metadata.get("tags", []) if tag not in FRAMEWORK_NAMES]
        if tags:
            metadata["tags"] = tags
        if "nbgrader" in metadata:
            metadata["nbgrader"] = _nbgrader(metadata["nbgrader"], where)
        made = (
            nbformat.v4.new_code_cell(source, metadata=metadata)
            if cell.cell_type == "code"
            else nbformat.v4.new_markdown_cell(source, metadata=metadata)
        )
        made["id"] = _cell_id(exercise.name, metadata, index)
        cells.append(made)
    # before the notebook is made: nbformat would first warn of the repeated cell id
    _check_unique_grade_ids(cells, f"{exercise.path.name} ({FRAMEWORK_NAMES[framework]})")
    nb = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            # read by the learner's check: which notebook this is, whatever the file is named
            "autograder": {"exercise": exercise.name, "framework": framework},
        },
    )
    return nb


def _fill(source: str, words: dict[str, str], where: str) -> str:
    for word, value in words.items():
        source = source.replace("{{ " + word + " }}", value)
    if "{{ " in source and " }}" in source.split("{{ ", 1)[1]:
        unknown = source.split("{{ ", 1)[1].split(" }}", 1)[0]
        raise CourseError(
            f"{where}: unknown placeholder {{{{ {unknown} }}}} (known: " f"{', '.join(words)})"
        )
    return source


def _nbgrader(meta: dict, where: str) -> dict:
    """nbgrader's full metadata for a cell, from the short form or the full one."""
    meta = dict(meta)
    kind = meta.pop("kind", None)
    if kind is not None:
        if kind not in KINDS:
            raise CourseError(
                f"{where}: nbgrader kind {kind!r} is not one of " f"{', '.join(KINDS)}"
            )
        if kind in NEEDS_POINTS and "points" not in meta:
            raise CourseError(f"{where}: a {kind} cell needs its points")
        meta = {**KINDS[kind], **meta}
    if not meta.get("grade_id"):
        raise CourseError(f"{where}: an nbgrader cell needs a grade_id")
    full = {
        "grade": False,
        "locked": False,
        "solution": False,
        "task": False,
        **meta,
        "schema_version": 3,
    }
    return dict(sorted(full.items()))


def _cell_id(exercise: str, metadata: dict, index: int) -> str:
    grade_id = metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id[:64]
    return "cell-" + hashlib.sha1(f"{exercise}:{index}".encode()).hexdigest()[:12]


def _check_unique_grade_ids(cells: list[NotebookNode], where: str) -> None:
    seen = set()
    for cell in cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            raise CourseError(f"{where}: two cells have the grade_id {grade_id!r}")
        seen.add(grade_id)


def text(nb: NotebookNode) -> str:
    """How a generated notebook is written to disk (and compared with what is there)."""
    return nbformat.writes(nb) + "\n"


def write_sources(course_root: Path, table: Path | None = None) -> list[Path]:
    """Write ``source/<exercise>_<framework>/<exercise>_<framework>.ipynb`` for every exercise,
    and the learner's table of questions to ``table`` if given."""
    written = []
    if table is not None and (
        not table.exists() or table.read_text(encoding="utf-8") != table_text(course_root)
    ):
        table.write_text(table_text(course_root), encoding="utf-8")
        written.append(table)
    for exercise in exercises(course_root):
        for framework, nb in build(exercise).items():
            path = (
                Path(course_root)
                / "source"
                / exercise.assignment(framework)
                / f"{exercise.assignment(framework)}.ipynb"
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text(nb):
                path.write_text(text(nb), encoding="utf-8")
                written.append(path)
    return written


def stale_sources(course_root: Path, table: Path | None = None) -> list[Path]:
    """The generated files that differ from what the exercise sources make now."""
    stale = []
    if table is not None and (
        not table.exists() or table.read_text(encoding="utf-8") != table_text(course_root)
    ):
        stale.append(table)
    for exercise in exercises(course_root):
        for framework, nb in build(exercise).items():
            name = exercise.assignment(framework)
            path = Path(course_root) / "source" / name / f"{name}.ipynb"
            if not path.exists() or path.read_text(encoding="utf-8") != text(nb):
                stale.append(path)
    return stale


# -- the learner's table ------------------------------------------------------------------
#: Where the table of exercises goes: inside the learner's package, which ships it.
TABLE = Path(__file__).resolve().parents[1] / "learner" / "pmcheck" / "exercises.json"


def questions_table(course_root: Path) -> dict:
    """What the self-check needs of every notebook: its questions and their public tests.

    Only public test calls go in (the hidden ones stay in the sources), with the public
    source of each test cell, so that the check can tell a learner their copy was edited.
    """
    from pmcheck.cells import TestCellError, parse_checks, public_source

    notebooks = {}
    for exercise in exercises(course_root):
        for framework, nb in build(exercise).items():
            name = exercise.assignment(framework)
            questions, answers = [], {}
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code":
                    answers.update({defined: meta["grade_id"] for defined in _defines(cell)})
                if not meta.get("grade"):
                    continue
                question = {"grade_id": meta["grade_id"], "points": float(meta["points"])}
                if meta.get("solution"):
                    question["manual"] = True
                else:
                    public = public_source(cell.source)
                    try:
                        calls = (
                            parse_checks(public, f"{name}, test cell {meta['grade_id']}")
                            if "pmcheck" in public and "(" in public
                            else []
                        )
                    except TestCellError as error:
                        raise CourseError(str(error)) from None
                    question["calls"] = [c.as_json() for c in calls]
                    question["source"] = public
                questions.append(question)
            notebooks[name] = {
                "notebook": name,
                "exercise": exercise.name,
                "framework": framework,
                "questions": questions,
                "answers": answers,
            }
    return {
        "about": "made by `python -m autograder sources` from the course's exercise "
        "sources; public tests only",
        "notebooks": notebooks,
    }


def _defines(cell: NotebookNode) -> list[str]:
    """The functions and classes an answer cell defines at its top level."""
    import ast

    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
    ]


def table_text(course_root: Path) -> str:
    import json

    return json.dumps(questions_table(course_root), indent=1, sort_keys=True) + "\n"
