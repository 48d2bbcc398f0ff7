"""Do the book's facts hold on any machine: clean clones built with 1 math thread and every
vector instruction of this processor, and with 2 threads and at most AVX2?

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
RUNS = ((1, "native"), (2, "avx2"))  # (math threads, vector cap)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[book_determinism.Run]:
    workdir = tmp_path_factory.mktemp("determinism")
    return [book_determinism.check(threads, workdir, vector) for threads, vector in RUNS]


def test_every_fact_test_passes_on_a_fresh_clone_run_twice_in_each_run(runs):
    for run in runs:
        assert run.facts_passed == [True, True], f"{run.name}:\n" + "\n".join(run.fact_runs)


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
