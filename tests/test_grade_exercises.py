"""Does every exercise notebook grade as it should, in every framework?

Generic over whatever is in exercises/source/: each notebook handed in with its
reference solutions earns every automatic point, and each released notebook handed in
unchanged earns none, without a problem.
"""
from __future__ import annotations

import pytest

from autograder.course import DEFAULT_COURSE, Course, framework_of

pytestmark = pytest.mark.slow


def _assignments() -> list[str]:
    try:
        course = Course.open(DEFAULT_COURSE)
    except Exception:  # noqa: BLE001 -- no course yet: nothing to parametrize over
        return []
    return [name for name in course.assignments() if course.notebooks(name)]


ASSIGNMENTS = _assignments() or [
    pytest.param(None, marks=pytest.mark.skip(reason="exercises/source/ has no notebooks yet"))]


def _failures(result) -> list[str]:
    return [f"{q.notebook}:{q.grade_id}: {q.message}" for q in result.questions if q.message]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solutions_get_full_marks(course, assignment):
    names = course.notebook_names(assignment)
    for name in names:
        course.submit(f"solution_{framework_of(name)}", assignment, name,
                      course.solution_submission(assignment, name))
    results = course.grade(assignment)
    assert len(results) == len(names)
    for result in results:
        assert result.problems == [], result.problems
        assert _failures(result) == []
        assert result.max_score > 0
        assert result.score == result.max_score


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebooks_handed_in_unchanged_get_zero(course, assignment):
    names = course.notebook_names(assignment)
    for name in names:
        course.submit(f"blank_{framework_of(name)}", assignment, name,
                      course.released_notebook(assignment, name))
    results = course.grade(assignment)
    assert len(results) == len(names)
    for result in results:
        assert result.problems == [], result.problems
        assert result.max_score > 0
        assert result.score == 0
        assert len(result.questions) > 0
