"""Does the notebook's ``check(...)`` say what the public tests say, on every wrong answer?

``pmcheck NOTEBOOK`` runs the same ``check`` in a fresh kernel, so this covers both: each
row of the wrong-answer table, and each reference solution, read by the test cells'
public part and by the self-check from pmcheck's table must give the same verdicts and
the same messages.
"""

from __future__ import annotations

import re

import pytest

from autograder.course import DEFAULT_COURSE, Course
from helpers.notebook_runner import public_and_self_check
from helpers.wrong_answers import WRONG_ANSWERS


def _same(messages: dict[str, str]) -> dict[str, str]:
    """The messages with their numbers left out: the public tests of the statistical
    questions draw fresh weights on every run, and MXNet numbers its layers by a global
    counter (dense100_weight). Verdicts and words must match exactly."""
    return {k: re.sub(r"-?\d+(\.\d+)?", "#", v) for k, v in messages.items()}


@pytest.mark.parametrize("notebook", Course.open(DEFAULT_COURSE).assignments())
def test_reference_solutions_agree(notebook):
    public, checked = public_and_self_check(notebook)
    assert _same(public) == _same(checked)
    assert not any(checked.values()), checked


@pytest.mark.parametrize("row", WRONG_ANSWERS, ids=lambda row: row.id)
def test_every_wrong_answer_gets_the_same_verdicts_and_messages(row):
    public, checked = public_and_self_check(row.notebook, {row.answer: row.code})
    assert _same(public) == _same(checked)
    if row.kind == "misconception":  # a hard-coded answer may pass the public examples
        assert any(checked[grade_id] for grade_id in row.fails), checked
