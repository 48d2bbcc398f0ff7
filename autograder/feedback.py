"""``feedback``: nbgrader's HTML feedback per notebook, and a plain-words page per exercise.

nbgrader writes ``feedback/<student>/<assignment>/<notebook>.html`` (and wipes that folder
when asked to write it again); our summary of an exercise goes beside those folders, at
``feedback/<student>/<exercise>.html``, so that it survives ``nbgrader generate_feedback``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from .course import Course, CourseError, counted, quiet_log
from .notebooks import NotebookError, failure_message, grade_id, is_auto_test, read_notebook


@dataclass(frozen=True)
class QuestionLine:
    grade_id: str
    score: float | None  #: None: still to be graded by hand
    max_score: float
    message: str


@dataclass(frozen=True)
class NotebookFeedback:
    assignment: str
    name: str
    score: float
    max_score: float
    questions: list[QuestionLine]


def generate_feedback(course_dir: Path | str | None, name: str) -> list[Path]:
    """Write the feedback of an exercise (or one assignment) for every graded student.

    Needs ``grade`` to have run. Returns the summary pages, one per student.
    """
    from nbgrader.apps.api import NbGraderAPI

    course = Course.open(course_dir)
    exercise, assignments = course.resolve(name)
    graded = {
        a: sorted(p.parent.name for p in course.autograded.glob(f"*/{a}")) for a in assignments
    }
    students = sorted({s for found in graded.values() for s in found})
    if not students:
        raise CourseError(
            f"nothing graded yet for {name!r} in {course.autograded}: run " "grade first"
        )
    api = NbGraderAPI(coursedir=course.coursedir(), config=course.config, log=quiet_log())
    for assignment in assignments:
        if graded[assignment]:
            result = api.generate_feedback(assignment)
            if not result["success"]:
                raise CourseError(
                    f"nbgrader could not write feedback for {assignment!r} in " f"{course.feedback}"
                )
    pages = []
    for student in students:
        notebooks = [
            nb
            for a in assignments
            if student in graded[a]
            for nb in _notebook_feedback(course, student, a)
        ]
        page = course.feedback / student / f"{exercise}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_summary_html(student, exercise, notebooks), encoding="utf-8")
        pages.append(page)
    return pages


def _notebook_feedback(course: Course, student: str, assignment: str) -> list[NotebookFeedback]:
    from nbgrader.api import Gradebook, MissingEntry

    result = []
    with Gradebook(course.db_url, course.coursedir().course_id) as gradebook:
        for path in sorted((course.autograded / student / assignment).glob("*.ipynb")):
            try:
                nb = read_notebook(path)
                stored = gradebook.find_submission_notebook(path.stem, assignment, student)
            except (NotebookError, MissingEntry):
                continue
            messages = {
                grade_id(cell): failure_message(cell) for cell in nb.cells if is_auto_test(cell)
            }
            questions = []
            for grade in sorted(stored.grades, key=lambda g: _cell_order(nb, g.name)):
                pending = grade.auto_score is None and grade.manual_score is None
                score = None if pending else grade.score
                message = messages.get(grade.name, "") if score != grade.max_score else ""
                questions.append(QuestionLine(grade.name, score, grade.max_score, message))
            result.append(
                NotebookFeedback(assignment, path.stem, stored.score, stored.max_score, questions)
            )
    return result


def _cell_order(nb, name: str) -> int:
    ids = [grade_id(cell) for cell in nb.cells]
    return ids.index(name) if name in ids else len(ids)


def _summary_html(student: str, exercise: str, notebooks: list[NotebookFeedback]) -> str:
    esc = html.escape
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{esc(exercise)}: feedback for {esc(student)}</title>"
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
        "td,th{padding:.3em .6em;text-align:left;vertical-align:top}"
        ".ok{color:#1a7f37}.no{color:#cf222e}.wait{color:#9a6700}</style></head><body>",
        f"<h1>{esc(exercise)}: feedback for {esc(student)}</h1>",
    ]
    if not notebooks:
        parts.append("<p>No notebook of yours could be graded.</p>")
    if len(notebooks) > 1:
        best = counted({nb.name: (nb.score, nb.max_score) for nb in notebooks})
        parts.append(
            f"<p>You handed in several frameworks; the best one counts: " f"<b>{esc(best)}</b>.</p>"
        )
    for nb in notebooks:
        parts.append(
            f"<h2>{esc(nb.name)}: {nb.score:g} / {nb.max_score:g} points</h2>"
            f"<p><a href='{esc(nb.assignment)}/{esc(nb.name)}.html'>The graded "
            "notebook</a> shows every cell with its output.</p><table><tr>"
            "<th>question</th><th>points</th><th>what the check said</th></tr>"
        )
        for q in nb.questions:
            if q.score is None:
                verdict = (
                    f"<td class='wait'>? / {q.max_score:g}</td>" "<td>graded by hand, not yet</td>"
                )
            else:
                css = "ok" if q.score >= q.max_score else "no"
                verdict = (
                    f"<td class='{css}'>{q.score:g} / {q.max_score:g}</td>"
                    f"<td>{esc(q.message) or ('passed' if css == 'ok' else '')}</td>"
                )
            parts.append(f"<tr><td>{esc(q.grade_id)}</td>{verdict}</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
