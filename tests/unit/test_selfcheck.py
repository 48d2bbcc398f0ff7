"""The in-notebook ``check(...)``: the shipped table of public tests, and what it says."""

from __future__ import annotations

import json

import pytest

from autograder.course import DEFAULT_COURSE, Course
from autograder.sources import TABLE, exercises, questions_table, stale_sources
from pmcheck import selfcheck
from pmcheck.cells import HIDDEN_BEGIN, parse_checks
from pmcheck.question import CheckFailed

SQUARE_QUESTIONS = [
    {
        "grade_id": "square_ok",
        "points": 2.0,
        "calls": [
            {
                "check": "calls.check_calls",
                "answer": "square",
                "framework": None,
                "kwargs": {"expected": "x * x", "inputs": [3]},
            }
        ],
    },
    {
        "grade_id": "square_again",
        "points": 1.0,
        "calls": [
            {
                "check": "calls.check_calls",
                "answer": "square",
                "framework": None,
                "kwargs": {"expected": "x * x", "inputs": [4]},
            }
        ],
    },
    {"grade_id": "why", "points": 1.0, "manual": True},
]


def test_the_shipped_table_is_what_the_sources_make():
    assert stale_sources(DEFAULT_COURSE, TABLE) == []
    table = json.loads(TABLE.read_text())["notebooks"]
    assert sorted(table) == sorted(Course.open(DEFAULT_COURSE).assignments())


def test_the_table_holds_public_tests_only():
    """No hidden call, argument or source line reaches the learner's package."""
    shipped = TABLE.read_text()
    for exercise in exercises(DEFAULT_COURSE):
        text = exercise.path.read_text()
        for block in text.split(HIDDEN_BEGIN)[1:]:
            hidden = block.split("### END HIDDEN TESTS")[0]
            hidden = (
                "from pmcheck import access, calls, deferred, initialization, portability, tying\n"
                + hidden.replace('"{{ framework }}"', '"pytorch"')
            )
            for call in parse_checks(hidden, "hidden tests"):
                assert call.function.split(".")[1] not in shipped, call.function
    assert "HIDDEN" not in shipped


def test_every_automatic_question_has_public_tests_and_points_match():
    for name, entry in questions_table(DEFAULT_COURSE)["notebooks"].items():
        for question in entry["questions"]:
            assert question.get("manual") or question["calls"], (name, question["grade_id"])
        assert all(q["points"] > 0 for q in entry["questions"]), name


def test_right_answers_pass_and_a_missing_one_is_named():
    outcomes = selfcheck.run(SQUARE_QUESTIONS, {"square": lambda x: x * x})
    assert [o.status for o in outcomes] == ["passed", "passed", "manual"]
    (missing, *_) = selfcheck.run(SQUARE_QUESTIONS, {})
    assert (missing.status, missing.missing) == ("failed", "square")
    assert missing.message.startswith("square is not defined: run its answer cell")


def test_an_answer_that_loops_forever_is_stopped_once():
    def square(x):
        while True:
            pass

    first, second, _ = selfcheck.run(SQUARE_QUESTIONS, {"square": square}, seconds=0.5)
    assert first.message == "square ran past 0.5 s and was stopped: does it loop forever?"
    assert second.message.startswith("not checked: square already ran past 0.5 s")


def test_an_answer_that_catches_everything_is_still_stopped():
    def square(x):
        while True:
            try:
                while True:
                    pass
            except Exception:  # noqa: BLE001 -- as a learner might
                continue

    (first, *_) = selfcheck.run(SQUARE_QUESTIONS, {"square": square}, seconds=0.5)
    assert "ran past 0.5 s" in first.message


def test_the_report_reads_question_by_question():
    def square(x):
        return x + x

    outcomes = selfcheck.run(SQUARE_QUESTIONS, {"square": square})
    text = selfcheck.report(outcomes, "title")
    assert "  FAILED   square_ok     0 of 2 points: square(3) should be 9; got 6" in text
    assert "  by hand  why           1 point, graded by your instructor" in text
    assert text.endswith("Public tests: 0 of 3 points passed.")


def test_a_failed_check_shows_its_message_without_a_traceback():
    from pmcheck import calls

    def square(x):
        return x + x

    with pytest.raises(CheckFailed) as failed:
        calls.check_calls(square, expected="x * x", inputs=[3])
    assert failed.value._render_traceback_() == [
        "\x1b[0;31mCheck failed\x1b[0m: square(3) should be 9; got 6"
    ]
