"""The course's rules that are plain functions: which framework's notebook counts, and the
names of notebooks, exercises and frameworks."""

from __future__ import annotations

import pytest

from autograder.course import FRAMEWORKS, counted, exercise_of, framework_of


def test_the_frameworks_come_in_the_courses_order():
    assert tuple(FRAMEWORKS) == ("pytorch", "mxnet", "mindspore")


@pytest.mark.parametrize(
    "scores, best",
    [
        ({"t_pytorch": (2, 4), "t_mxnet": (3, 4)}, "t_mxnet"),  # the higher score
        # the best fraction of its own maximum, not the most points
        ({"t_pytorch": (3, 4), "t_mindspore": (2, 2)}, "t_mindspore"),
        # the same fraction: the larger maximum
        ({"t_pytorch": (1, 2), "t_mxnet": (2, 4)}, "t_mxnet"),
        # the same fraction and maximum: the framework that comes first
        ({"t_mindspore": (4, 4), "t_mxnet": (4, 4), "t_pytorch": (4, 4)}, "t_pytorch"),
        ({"t_mindspore": (0, 4), "t_mxnet": (0, 4)}, "t_mxnet"),
        # a maximum of 0 scores as 0, never as a division by zero
        ({"t_pytorch": (0, 0), "t_mxnet": (0, 3)}, "t_mxnet"),
        ({"t_pytorch": (0, 0)}, "t_pytorch"),
        # a notebook of no framework loses a tie to one of a framework
        ({"t": (1, 1), "t_mindspore": (1, 1)}, "t_mindspore"),
        ({"t": (1, 1), "t_mindspore": (0, 1)}, "t"),
    ],
)
def test_the_best_notebook_counts(scores, best):
    assert counted(scores) == best


def test_nothing_handed_in_counts_nothing():
    assert counted({}) is None


def test_the_choice_does_not_depend_on_the_order_the_scores_come_in():
    scores = {"t_mindspore": (4, 4), "t_mxnet": (4, 4), "t_pytorch": (4, 4)}
    assert counted(dict(reversed(scores.items()))) == counted(scores) == "t_pytorch"


@pytest.mark.parametrize(
    "notebook, framework, exercise",
    [
        ("tying_mxnet", "mxnet", "tying"),
        ("tying_pytorch", "pytorch", "tying"),
        ("saving_and_loading_mindspore", "mindspore", "saving_and_loading"),
        ("tying", None, "tying"),
        ("tying_tensorflow", None, "tying_tensorflow"),
        ("squares", None, "squares"),
    ],
)
def test_a_notebooks_name_says_its_framework_and_exercise(notebook, framework, exercise):
    assert framework_of(notebook) == framework
    assert exercise_of(notebook) == exercise
