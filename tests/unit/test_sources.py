"""One MyST source per exercise: the nbgrader notebooks it makes, and what they must share."""

from __future__ import annotations

import textwrap
import warnings

import pytest

from autograder.course import DEFAULT_COURSE, CourseError
from autograder.sources import TABLE, Exercise, build, exercises, stale_sources
from helpers.fixture_book import HEADER  # a MyST notebook's jupytext header


def _graded(nb) -> list[tuple]:
    """Each nbgrader cell's role, grade_id and points, in order."""
    found = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta:
            role = (
                "tests"
                if meta["grade"] and not meta["solution"]
                else "manual"
                if meta["grade"]
                else "answer"
                if meta["solution"]
                else "task"
                if meta["task"]
                else "readonly"
            )
            found.append((role, meta["grade_id"], meta.get("points")))
    return found


def test_the_committed_notebooks_and_table_are_what_the_sources_make():
    assert (
        stale_sources(DEFAULT_COURSE, TABLE) == []
    ), "run `python -m autograder sources` and commit what it writes"


@pytest.mark.parametrize("exercise", exercises(DEFAULT_COURSE), ids=lambda e: e.name)
def test_three_versions_have_the_same_parts_grade_ids_and_points(exercise):
    versions = build(exercise)
    assert list(versions) == ["pytorch", "mxnet", "mindspore"]
    first, *others = [_graded(nb) for nb in versions.values()]
    assert first and all(other == first for other in others)
    headings = [
        [
            line
            for cell in nb.cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("## ")
        ]
        for nb in versions.values()
    ]
    assert headings[0] and headings[1] == headings[0] == headings[2]
    for framework, nb in versions.items():
        assert nb.metadata["autograder"] == {"exercise": exercise.name, "framework": framework}
        text = "\n".join(cell.source for cell in nb.cells)
        assert "{{" not in text
        others = {"pytorch": "torch", "mxnet": "mxnet", "mindspore": "mindspore"}
        for other, module in others.items():
            if other != framework:
                assert f"import {module}" not in text and f"from {module}" not in text


def test_every_version_ends_with_the_self_check_of_its_own_notebook():
    for exercise in exercises(DEFAULT_COURSE):
        for framework, nb in build(exercise).items():
            last = nb.cells[-1]
            assert last.metadata.get("tags") == ["self-check"]
            assert f'check("{exercise.name}_{framework}")' in last.source


def _exercise(tmp_path, body: str) -> Exercise:
    path = tmp_path / "demo.md"
    path.write_text(HEADER + textwrap.dedent(body))
    return Exercise(path)


@pytest.mark.parametrize(
    "body, words",
    [
        (
            "```{code-cell} ipython3\n:tags: [pytorch, mxnet]\nx = 1\n```\n",
            "has the framework tags pytorch, mxnet",
        ),
        ("```{code-cell} ipython3\nprint('{{ frame }}')\n```\n", "unknown placeholder {{ frame }}"),
        (
            "```{code-cell} ipython3\n:nbgrader: {kind: tests, grade_id: t}\nx = 1\n```\n",
            "a tests cell needs its points",
        ),
        (
            "```{code-cell} ipython3\n:nbgrader: {kind: answr, grade_id: a}\nx = 1\n```\n",
            "nbgrader kind 'answr' is not one of",
        ),
        (
            "```{code-cell} ipython3\n:nbgrader: {kind: answer, grade_id: a}\nx = 1\n```\n\n"
            "```{code-cell} ipython3\n:nbgrader: {kind: answer, grade_id: a}\ny = 1\n```\n",
            "two cells have the grade_id 'a'",
        ),
    ],
)
def test_a_mistake_in_a_source_is_one_line_naming_it(tmp_path, body, words):
    # the one line only: no warning of nbformat's before it
    with warnings.catch_warnings(), pytest.raises(CourseError, match=None) as error:
        warnings.simplefilter("error")
        build(_exercise(tmp_path, body))
    assert words in str(error.value) and "demo.md" in str(error.value)
    assert "\n" not in str(error.value)


def test_shared_and_framework_cells_and_placeholders(tmp_path):
    versions = build(
        _exercise(
            tmp_path,
            """\
        # {{ Framework }} version

        ```{code-cell} ipython3
        :tags: [mxnet]
        :nbgrader: {kind: readonly, grade_id: setup}
        import mxnet
        ```

        ```{code-cell} ipython3
        :nbgrader: {kind: tests, grade_id: t, points: 2}
        check("{{ notebook }}", framework="{{ framework }}")
        ```
        """,
        )
    )
    mx, pt = versions["mxnet"], versions["pytorch"]
    assert mx.cells[0].source == "# MXNet version"
    assert [c.source for c in mx.cells[1:]] == [
        "import mxnet",
        'check("demo_mxnet", framework="mxnet")',
    ]
    assert [c.source for c in pt.cells[1:]] == ['check("demo_pytorch", framework="pytorch")']
    assert pt.cells[1].metadata.nbgrader == {
        "grade": True,
        "grade_id": "t",
        "locked": True,
        "points": 2,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
