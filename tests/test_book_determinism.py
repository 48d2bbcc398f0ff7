"""Do the book's facts hold on any machine: clean clones built with 1 and 2 math threads?

Slow (some five minutes on two cores): each clone is built from scratch and its fact tests
run twice. `pytest -m "not determinism"` leaves it out; `make determinism`
(`tests/helpers/book_determinism.py`) runs the same check on its own and prints the numbers
of both builds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pmcheck
import pytest

from helpers import book_determinism

pytestmark = [pytest.mark.slow, pytest.mark.determinism, pytest.mark.book]
THREADS = (1, 2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[book_determinism.Run]:
    workdir = tmp_path_factory.mktemp("determinism")
    return [book_determinism.check(threads, workdir) for threads in THREADS]


def test_every_fact_test_passes_on_a_fresh_clone_run_twice_at_each_thread_count(runs):
    for run in runs:
        assert run.facts_passed == [True, True], f"OMP_NUM_THREADS={run.threads}:\n" + "\n".join(
            run.fact_runs
        )


def framework_notebooks() -> int:
    """One notebook per framework for every chapter with framework-tagged code."""
    book = Path(__file__).resolve().parents[1] / "book"
    tagged = re.compile(r"^:tags: \[.*\b(" + "|".join(pmcheck.FRAMEWORKS) + r")\b", re.M)
    return len(pmcheck.FRAMEWORKS) * sum(
        bool(tagged.search(page.read_text())) for page in book.glob("*.md")
    )


def test_a_cold_build_runs_every_framework_notebook_once(runs):
    assert framework_notebooks() >= 15  # five chapters
    assert [run.executed_cold for run in runs] == [framework_notebooks()] * len(runs)


def test_a_second_make_book_runs_nothing_and_takes_at_most_a_tenth_of_the_first(runs):
    for run in runs:
        assert run.executed_warm == 0
        assert run.warm_share <= 0.10, book_determinism.report(runs)


def test_jupyter_book_again_past_makes_check_runs_nothing_from_its_cache(runs):
    assert [run.executed_rebuild for run in runs] == [0] * len(runs)


def test_tying_settles_in_every_framework_at_every_thread_count(runs):
    """The numbers the prose relies on, read from both builds' notebooks."""
    for run in runs:
        for framework, lines in run.training.items():
            last = next(line for line in lines if line.startswith("step 149:"))
            loss = float(last.split("loss ")[1].split()[0])
            accuracy = float(lines[-1].split(": ")[1])
            assert loss < 0.01 and accuracy > 0.99, (run.threads, framework, lines)
