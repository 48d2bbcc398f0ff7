"""Does every exercise notebook grade as it should, in every framework?

Generic over whatever exercises the course has: each framework's notebook handed in with
its reference solutions earns every automatic point, and each released notebook handed in
unchanged earns none, without a problem. One grade run per exercise grades all three
frameworks, each framework's notebook an nbgrader assignment of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder.course import DEFAULT_COURSE, Course, framework_of
from autograder.feedback import generate_feedback
from pmcheck.cells import HIDDEN_BEGIN, HIDDEN_END
from autograder.notebooks import is_auto_test, read_notebook

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


def _exercises() -> dict[str, list[str]]:
    try:
        return Course.open(DEFAULT_COURSE).exercises()
    except Exception:  # noqa: BLE001 -- no course yet: nothing to parametrize over
        return {}


EXERCISES = sorted(_exercises()) or [
    pytest.param(None, marks=pytest.mark.skip(reason="exercises/ has no exercises yet"))
]


def hidden_test_marks(source: Path, exercise: str) -> set[str]:
    """Every line of the source notebooks' hidden tests, and the names only they use."""
    lines, public = set(), set()
    for path in source.glob(f"{exercise}_*/*.ipynb"):
        for cell in read_notebook(path).cells:
            if not is_auto_test(cell):
                continue
            hidden = False
            for line in cell.source.splitlines():
                if line.strip() in (HIDDEN_BEGIN, HIDDEN_END):
                    hidden = line.strip() == HIDDEN_BEGIN
                elif line.strip():
                    (lines if hidden else public).add(line.strip())
    names = {name for line in lines for name in re.findall(r"\w+_random\w*", line)}
    names -= {name for line in public for name in re.findall(r"\w+", line)}
    return lines | names


def _failures(result) -> list[str]:
    return [f"{q.notebook}:{q.grade_id}: {q.message}" for q in result.questions if q.message]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_solutions_get_full_marks(course, exercise):
    names = _exercises()[exercise]
    for name in names:
        course.submit(
            f"solution_{framework_of(name)}",
            exercise,
            name,
            course.solution_submission(exercise, name),
        )
    results = course.grade(exercise)
    assert len(results) == len(names)
    for result in results:
        assert result.problems == [], result.problems
        assert _failures(result) == []
        assert result.max_score > 0
        assert result.score == result.max_score
    assert not any(result.flags for result in results)
    generate_feedback(course.root, exercise)
    marks = hidden_test_marks(course.root / "source", exercise)
    assert marks
    shown = [
        path
        for folder in ("autograded", "feedback")
        for path in (course.root / folder).rglob("*")
        if path.is_file()
    ]
    assert any(path.name == f"{exercise}.html" for path in shown)
    for path in shown:
        text = path.read_text(errors="replace")
        leaked = sorted(mark for mark in marks if mark in text)
        assert not leaked, (path, leaked[:3])


@pytest.mark.parametrize("exercise", EXERCISES)
def test_released_notebooks_handed_in_unchanged_get_zero(course, exercise):
    names = _exercises()[exercise]
    for name in names:
        course.submit(
            f"blank_{framework_of(name)}", exercise, name, course.released_notebook(exercise, name)
        )
    results = course.grade(exercise)
    assert len(results) == len(names)
    for result in results:
        assert result.problems == [], result.problems
        assert result.max_score > 0
        assert result.score == 0
        assert len(result.questions) > 0
