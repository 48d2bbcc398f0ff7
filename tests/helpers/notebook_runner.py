"""Run a source notebook's cells in this process: a fast stand-in for grading it.

Every code cell of the instructor's notebook runs in order in one fresh namespace, with
some answer cells replaced; each test cell (public and hidden tests alike) either passes
or fails with its message. The checks are the same code the graded kernels run, so this
tells within seconds what grading will say.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from pmcheck.common import describe
from autograder.notebooks import grade_id, is_answer, is_auto_test

SOURCE = Path(__file__).resolve().parents[2] / "exercises" / "source"

os.environ.setdefault("GLOG_v", "3")


def source_notebook(notebook: str) -> nbformat.NotebookNode:
    """The instructor's notebook, e.g. ``source_notebook("tying_mxnet")``."""
    return nbformat.read(SOURCE / notebook / f"{notebook}.ipynb", as_version=4)


def run_in_process(notebook: str, answers: dict[str, str] | None = None) -> dict[str, str]:
    """``{test grade_id: ""}`` for each test cell that passed, its failure message otherwise.

    ``answers`` maps answer-cell grade_ids to the code handed in instead of the reference.
    """
    answers = answers or {}
    nb = source_notebook(notebook)
    unknown = set(answers) - {grade_id(cell) for cell in nb.cells if is_answer(cell)}
    if unknown:
        raise ValueError(f"{notebook} has no answer cells {sorted(unknown)}")
    namespace: dict = {"__name__": "__main__"}
    results: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or "self-check" in cell.metadata.get("tags", []):
            continue
        source = answers.get(grade_id(cell), cell.source)
        if is_auto_test(cell):
            try:
                exec(compile(source, grade_id(cell), "exec"), namespace)
            except AssertionError as error:
                results[grade_id(cell)] = str(error) or "AssertionError"
            except Exception as error:  # noqa: BLE001 - grading scores any error as a failure
                results[grade_id(cell)] = describe(error)
            else:
                results[grade_id(cell)] = ""
        else:
            exec(compile(source, grade_id(cell) or "cell", "exec"), namespace)
    return results


def failing(results: dict[str, str]) -> set[str]:
    return {name for name, message in results.items() if message}


def public_and_self_check(
    notebook: str,
    answers: dict[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Two readings of the same answers, ``{grade_id: message or ""}`` each: the public part
    of each test cell run as the learner's copy holds it, and the notebook's ``check(...)``
    from the table of public tests pmcheck ships."""
    from pmcheck import selfcheck
    from pmcheck.cells import public_source

    answers = answers or {}
    nb = source_notebook(notebook)
    namespace: dict = {"__name__": "__main__"}
    tests = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "self-check" in cell.metadata.get("tags", []):
            continue
        if is_auto_test(cell):
            tests.append(cell)
            continue
        try:
            exec(compile(answers.get(grade_id(cell), cell.source), "cell", "exec"), namespace)
        except Exception:  # noqa: BLE001 -- a broken answer cell: its questions fail below
            pass
    public = {}
    for cell in tests:
        try:
            exec(compile(public_source(cell.source), grade_id(cell), "exec"), namespace)
        except AssertionError as error:
            public[grade_id(cell)] = str(error)
        except Exception as error:  # noqa: BLE001
            public[grade_id(cell)] = describe(error)
        else:
            public[grade_id(cell)] = ""
    outcomes = selfcheck.run(selfcheck.entry(notebook)["questions"], namespace)
    checked = {
        o.grade_id: "" if o.status == "passed" else o.message
        for o in outcomes
        if o.status != "manual"
    }
    return public, checked
