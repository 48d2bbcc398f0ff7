"""The pure parts of grading: answers merged into the instructor's notebook, the files that
travel with a notebook, the frameworks to preload, the hand-in time, the summary table."""

from __future__ import annotations

import datetime
import os

import nbformat
import pytest

from autograder import grade as grade_module
from autograder.grade import (
    MAX_TASK_FILE_BYTES,
    QuestionResult,
    SubmissionResult,
    _gather_files,
    format_table,
    frameworks_imported,
    merge_answers,
    submission_timestamp,
)
from autograder.notebooks import with_answers
from helpers.course_fixtures import FIXTURE_COURSE
from helpers.submissions import with_duplicate_answer

PT = "squares_pytorch"


def nbgrader(grade_id: str, *, solution: bool = False, grade: bool = False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def code(source: str, cell_id: str, **meta) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata=nbgrader(**meta) if meta else {})
    cell["id"] = cell_id
    return cell


def template() -> nbformat.NotebookNode:
    """Two answers and their test cells, as the instructor wrote them."""
    return nbformat.v4.new_notebook(
        cells=[
            code("def square(x):\n    return x * x", "a1", grade_id="square", solution=True),
            code("assert square(3) == 9", "t1", grade_id="square_test", grade=True, points=2),
            code("def cube(x):\n    return x ** 3", "a2", grade_id="cube", solution=True),
            code("assert cube(2) == 8", "t2", grade_id="cube_test", grade=True, points=1),
        ]
    )


def sources(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells]


# -- merge_answers -----------------------------------------------------------------------
def test_answers_are_copied_in_by_grade_id_and_test_cells_stay_the_instructors():
    submitted = with_answers(
        template(), {"square": "def square(x):\n    return 9", "cube": "def cube(x):\n    return 8"}
    )
    submitted.cells[1].source = "pass  # the learner emptied the test"
    submitted.cells.reverse()  # the order of the hand-in does not matter either
    graded, notes = merge_answers(template(), submitted)
    assert sources(graded) == [
        "def square(x):\n    return 9",
        "assert square(3) == 9",
        "def cube(x):\n    return 8",
        "assert cube(2) == 8",
    ]
    assert notes == []


def test_an_answer_whose_nbgrader_metadata_was_dropped_is_found_by_its_cell_id():
    submitted = with_answers(template(), {"cube": "def cube(x):\n    return 0"})
    del submitted.cells[2].metadata["nbgrader"]
    graded, notes = merge_answers(template(), submitted)
    assert graded.cells[2].source == "def cube(x):\n    return 0"
    assert notes == []


def test_a_missing_answer_is_noted_and_keeps_the_instructors_cell():
    submitted = template()
    del submitted.cells[2]
    graded, notes = merge_answers(template(), submitted)
    assert notes == ["answer cell cube is missing; graded as unanswered"]
    assert graded.cells[2].source == template().cells[2].source


def test_merging_leaves_the_template_as_it_was():
    original = template()
    merge_answers(original, with_answers(template(), {"square": "square = None"}))
    assert sources(original) == sources(template())


def test_merge_names_both_duplicate_cells():
    """Is the note about duplicate answer cells exact about which cell counted?"""
    course_nb = nbformat.read(FIXTURE_COURSE / "source" / PT / f"{PT}.ipynb", 4)
    submitted = with_duplicate_answer(with_answers(course_nb, {}))
    merged, notes = merge_answers(course_nb, submitted)
    assert notes == ["cells 4 and 6 are both marked as answer square_answer; cell 4 was graded"]
    assert "return 0" not in merged.cells[3].source


# -- _gather_files -----------------------------------------------------------------------
def test_the_files_beside_a_notebook_are_read_except_notebooks_and_skipped_names(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "timestamp.txt").write_text("2026-01-01 00:00:00")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_bytes(b"1,2\n")
    files, notes = _gather_files(tmp_path, skip=("timestamp.txt",))
    assert files == {"data/x.csv": b"1,2\n"} and notes == []


def test_links_are_left_out_with_a_note(tmp_path):
    (tmp_path / "real.txt").write_text("data")
    os.symlink(tmp_path / "real.txt", tmp_path / "soft.txt")
    os.link(tmp_path / "real.txt", tmp_path / "hard.txt")
    files, notes = _gather_files(tmp_path)
    assert files == {}
    assert notes == [
        "ignored hard.txt: a hard link to another file",
        "ignored real.txt: a hard link to another file",
        "ignored soft.txt: a symbolic link or not a plain file",
    ]


def test_past_the_cap_together_the_last_file_is_left_out_with_a_note(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    (tmp_path / "b.bin").write_bytes(b"x" * 1000)
    (tmp_path / "c.bin").write_bytes(b"x" * 400)
    files, notes = _gather_files(tmp_path, budget=1500)
    assert list(files) == ["a.bin", "c.bin"]  # what still fits after a skip is kept
    assert notes == [
        f"ignored b.bin: the files beside the notebook pass "
        f"{MAX_TASK_FILE_BYTES >> 20} MiB together"
    ]


def test_a_file_over_the_size_of_one_data_file_is_left_out(tmp_path, monkeypatch):
    monkeypatch.setattr(grade_module, "MAX_DATA_FILE_BYTES", 3 << 20)
    (tmp_path / "big.bin").write_bytes(b"x" * ((3 << 20) + 1))
    (tmp_path / "small.bin").write_bytes(b"x")
    files, notes = _gather_files(tmp_path)
    assert list(files) == ["small.bin"]
    assert notes == ["ignored big.bin: larger than 3 MiB"]


# -- frameworks_imported -----------------------------------------------------------------
def test_the_frameworks_to_preload_are_those_the_code_imports_in_the_courses_order():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("import torch"),  # prose, not code
            nbformat.v4.new_code_cell("import mindspore.nn as nn\nimport numpy as np"),
            nbformat.v4.new_code_cell("def f(:"),  # a syntax error is skipped, not fatal
            nbformat.v4.new_code_cell("from mxnet import gluon"),
        ]
    )
    assert frameworks_imported([nb]) == ["mxnet", "mindspore"]
    assert frameworks_imported(
        [
            nb,
            nbformat.v4.new_notebook(
                cells=[nbformat.v4.new_code_cell("if True:\n    import torch.nn")]
            ),
        ]
    ) == ["pytorch", "mxnet", "mindspore"]
    assert frameworks_imported([]) == []


# -- submission_timestamp ----------------------------------------------------------------
def test_no_or_an_empty_timestamp_is_no_time_and_no_problem(tmp_path):
    assert submission_timestamp(tmp_path) == (None, None)
    (tmp_path / "timestamp.txt").write_text("  \n")
    assert submission_timestamp(tmp_path) == (None, None)


def test_a_timestamp_is_read_as_utc(tmp_path):
    (tmp_path / "timestamp.txt").write_text("2026-11-30 10:00:00 UTC\n")
    assert submission_timestamp(tmp_path) == (datetime.datetime(2026, 11, 30, 10), None)


@pytest.mark.parametrize(
    "text, words",
    [
        ("next tuesday-ish", "timestamp.txt ignored: 'next tuesday-ish' is not a date"),
        (
            "2999-01-01 10:00:00 UTC",
            "timestamp.txt ignored: '2999-01-01 10:00:00 UTC' is in the " "future",
        ),
    ],
)
def test_a_bad_timestamp_is_no_time_and_one_problem(tmp_path, text, words):
    (tmp_path / "timestamp.txt").write_text(text)
    assert submission_timestamp(tmp_path) == (None, words)


def test_a_linked_timestamp_is_not_read(tmp_path):
    (tmp_path / "elsewhere").write_text("2026-11-30 10:00:00 UTC")
    os.symlink(tmp_path / "elsewhere", tmp_path / "timestamp.txt")
    stamp, problem = submission_timestamp(tmp_path)
    assert stamp is None and problem.startswith("timestamp.txt ignored: ")
    assert "symbolic link" in problem


# -- format_table ------------------------------------------------------------------------
def test_the_summary_table_aligns_columns_and_joins_problems_and_flags():
    question = QuestionResult(PT, "square_is_correct", 2.0, 2.0, "")
    results = [
        SubmissionResult("alice", "squares", 3.0, 3.0, [], [question], PT),
        SubmissionResult(
            "bartholomew",
            "squares",
            0.5,
            10.0,
            ["bad timestamp", "late"],
            [],
            PT,
            flags=["reaches into IPython"],
        ),
    ]
    assert format_table(results).splitlines() == [
        "student      score  max  problems",
        "alice            3    3  -",
        "bartholomew    0.5   10  bad timestamp; late; reaches into IPython",
    ]
