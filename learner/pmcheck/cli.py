"""``pmcheck NOTEBOOK``: check a saved notebook in a fresh kernel, the way it will be graded.

The notebook's own cells run from the top in a new kernel, in the notebook's folder, except
its test cells and its self-check cell; then every public test of the notebook runs on
the answers, as ``check(...)`` does in the notebook (:mod:`pmcheck.selfcheck`). The tests
come from the table this package ships, so an edited test cell changes nothing; for a
notebook the table does not know, its own test cells are read instead.

Before and after, it says what would cost points when graded although the answers are
right: a file handed in under another name, more output than grading keeps, an answer
cell that stops with an error (a SyntaxError is named as such), a cell that runs forever.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from pmcheck.lazy import defer_iri_grammar

defer_iri_grammar()  # before nbformat: 1.2 s less to start (see pmcheck.lazy)

from pmcheck import KERNEL_ENV, selfcheck  # noqa: E402
from pmcheck.cells import TestCellError, parse_checks, public_source  # noqa: E402

#: Output grading keeps of one notebook; the cell that goes past it is interrupted.
OUTPUT_LIMIT = 4 << 20
#: Seconds one cell may run; grading's default limit.
CELL_SECONDS = 120.0
MARK = "\x00pmcheck-result:"
#: What browsers and file managers add to a downloaded file's name.
COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|[-_ ]?Copy\d*|\s*-\s*copy)$", re.IGNORECASE)


class Problem(Exception):
    """The notebook cannot be checked at all (one line for the learner)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pmcheck",
        description="Check a saved exercise notebook in a fresh kernel, the way it is graded: "
        "its cells run from the top, then every public test runs on your answers. "
        "Hidden tests run only when it is graded.",
    )
    parser.add_argument("notebook", type=Path, metavar="NOTEBOOK", help="the .ipynb file")
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=CELL_SECONDS,
        metavar="SECONDS",
        help=f"stop a cell after this long (default {CELL_SECONDS:g}, as in " "grading)",
    )
    args = parser.parse_args(argv)
    try:
        text, passed = check_file(args.notebook, cell_seconds=args.cell_timeout)
    except Problem as problem:
        print(f"pmcheck: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\npmcheck: interrupted (Ctrl-C): nothing was checked", file=sys.stderr)
        return 130
    print(text)
    return 0 if passed else 1


def check_file(path: Path, *, cell_seconds: float = CELL_SECONDS) -> tuple[str, bool]:
    """The report for the notebook at ``path``, and whether everything passed."""
    nb = _read(path)
    name, notes, problems = _identify(path, nb)
    known = selfcheck.table().get(name)
    if known is not None:
        questions = known["questions"]
        answers = known.get("answers", {})
        notes += _edited_tests(nb, questions)
    else:
        questions, answers = _own_questions(nb, path)
        notes.append(f"pmcheck does not know {name}; the notebook's own test cells were used")
    executed, cell_problems, errors = _execute(nb, path, questions, cell_seconds)
    problems += cell_problems
    outcomes = [_explained(o, answers, errors) for o in executed]
    saved = datetime.datetime.fromtimestamp(path.stat().st_mtime)
    title = (
        f"Checking {path.name} as saved at {saved:%H:%M:%S} (public tests; hidden tests "
        "run when it is graded)"
    )
    lines = [selfcheck.report(outcomes, title)]
    lines += [f"Problem: {problem}" for problem in problems]
    lines += [f"Note: {note}" for note in notes]
    lines.append(
        "Note: unsaved changes in Jupyter are not in the file: save before you "
        "check and before you hand in."
    )
    passed = not problems and all(o.status != "failed" for o in outcomes)
    return "\n".join(lines), passed


def _read(path: Path):
    import nbformat

    if not path.is_file():
        raise Problem(f"{path}: no such file")
    try:
        json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise Problem(
            f"{path.name} is not valid JSON, so not a notebook Jupyter can open "
            "(was it cut short, or saved by another program?)"
        ) from None
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 -- nbformat raises many kinds
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise Problem(f"{path.name} is not a notebook Jupyter can open ({first[:200]})") from None
    return nb


def _identify(path: Path, nb) -> tuple[str, list[str], list[str]]:
    """The notebook's name (from its metadata, else its file name), notes, problems."""
    meta = nb.metadata.get("autograder", {})
    if isinstance(meta, dict) and meta.get("exercise") and meta.get("framework"):
        name = f"{meta['exercise']}_{meta['framework']}"
    else:
        name = COPY_SUFFIX.sub("", path.stem)
    problems = []
    if path.stem != name:
        problems.append(
            f"this file is named {path.name!r}, but grading reads only "
            f"{name}.ipynb: rename it to that before you hand it in"
        )
    return name, [], problems


def _edited_tests(nb, questions: list[dict[str, Any]]) -> list[str]:
    cells = {_grade_id(cell): cell for cell in nb.cells if _grade_id(cell)}
    notes = []
    for question in questions:
        if "source" not in question:
            continue
        cell = cells.get(question["grade_id"])
        if cell is None:
            notes.append(
                f"test cell {question['grade_id']} is missing from your copy; the "
                "original tests ran, as they will when it is graded"
            )
        elif public_source(cell.source) != question["source"]:
            notes.append(
                f"test cell {question['grade_id']} was changed; the original tests "
                "ran, as they will when it is graded"
            )
    return notes


def _own_questions(nb, path: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    questions = []
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if not meta.get("grade"):
            continue
        question = {"grade_id": meta.get("grade_id", "?"), "points": float(meta.get("points", 0))}
        if meta.get("solution"):
            question["manual"] = True
        else:
            try:
                calls = parse_checks(
                    public_source(cell.source), f"{path.name}, test cell {question['grade_id']}"
                )
            except TestCellError as error:
                raise Problem(str(error)) from None
            question["calls"] = [c.as_json() for c in calls]
        questions.append(question)
    if not questions:
        raise Problem(f"{path.name} has no questions to check (is it an exercise notebook?)")
    return questions, {}


def _nbgrader(cell) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str:
    return str(_nbgrader(cell).get("grade_id") or "")


def _runs(cell) -> bool:
    """Whether the check runs this cell: not test cells, not the self-check."""
    meta = _nbgrader(cell)
    if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
        return False
    return "self-check" not in cell.get("metadata", {}).get("tags", [])


def _execute(nb, path: Path, questions, cell_seconds: float):
    """Run the cells and the check in a fresh kernel: outcomes, problems, answer errors."""
    import nbformat
    from nbclient import NotebookClient

    runs = [cell for cell in nb.cells if _runs(cell)]
    final = nbformat.v4.new_code_cell(
        "import pmcheck.selfcheck as _pmcheck_selfcheck\n"
        f"print({MARK!r} + _pmcheck_selfcheck.run_json(None, __import__('json').loads("
        f"{json.dumps(questions)!r})))"
    )
    run_nb = nbformat.v4.new_notebook(
        cells=[*(nbformat.from_dict(c) for c in runs), final], metadata=nb.metadata
    )
    env = {**KERNEL_ENV, **os.environ}
    client = NotebookClient(
        run_nb,
        timeout=cell_seconds,
        allow_errors=True,
        interrupt_on_timeout=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.resolve().parent)}},
        env=env,
    )
    # Ctrl-C stops the check at once. (asyncio, under nbclient, would otherwise turn it
    # into a cancellation that the run survives, the kernel's cell reporting an interrupt.)
    pressed: list[bool] = []

    def interrupted(signum, frame):
        pressed.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        # the kernel's own log lines (not the notebook's output) stay out of the report
        client.execute(stderr=subprocess.DEVNULL)
    except BaseException:
        # nbclient answers Ctrl-C itself, from its event loop: it shuts the kernel down (and
        # only then sets this), after which the run fails with a dead kernel.
        if pressed or getattr(client, "_async_cleanup_kernel_future", None) is not None:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    problems, errors, size = [], {}, 0
    for cell in run_nb.cells[:-1]:
        where = _grade_id(cell) or "a cell"
        for output in cell.get("outputs", []):
            size += len(json.dumps(output))
            if size > OUTPUT_LIMIT and not any("output" in p for p in problems):
                problems.append(
                    f"the notebook prints more than {OUTPUT_LIMIT >> 20} MiB; "
                    f"grading keeps only that much and interrupts the cell that "
                    f"goes past it ({where}), which then fails: print less"
                )
            if output.get("output_type") == "error":
                errors[where] = _error_text(output, cell_seconds)
    for where, text in errors.items():
        problems.append(
            f"{'answer cell ' + where if where != 'a cell' else 'a cell'} " f"stopped with {text}"
        )
    outcomes = _outcomes(run_nb.cells[-1])
    return outcomes, problems, errors


def _error_text(output, cell_seconds: float) -> str:
    ename, evalue = output.get("ename", "an error"), str(output.get("evalue", ""))
    if ename == "KeyboardInterrupt" or "CellTimeoutError" in ename:
        return f"a timeout: it ran past {cell_seconds:g} s and was stopped (an endless loop?)"
    if ename in ("SyntaxError", "IndentationError", "TabError"):
        line = re.search(r"line (\d+)", evalue) or re.search(
            r"line (\d+)", " ".join(output.get("traceback", []))
        )
        where = f" at line {line.group(1)} of the cell" if line else ""
        message = re.sub(r"\s*\([^()]*line \d+\)$", "", evalue)
        return f"{ename}{where}: {message} (nothing in that cell ran)"
    first = (evalue.strip().splitlines() or [""])[0][:300]
    return f"{ename}: {first}".rstrip(": ")


def _outcomes(cell) -> list[selfcheck.Outcome]:
    for output in cell.get("outputs", []):
        text = output.get("text", "") if output.get("output_type") == "stream" else ""
        for line in text.splitlines():
            if line.startswith(MARK):
                return [selfcheck.Outcome(**o) for o in json.loads(line[len(MARK) :])]
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            raise Problem(
                f"the check itself could not run in the kernel: "
                f"{output.get('ename')}: {output.get('evalue')} (is pmcheck "
                "installed in the kernel's Python?)"
            )
    raise Problem("the check itself sent no result (did the kernel die? out of memory?)")


def _explained(
    outcome: selfcheck.Outcome, answers: dict[str, str], errors: dict[str, str]
) -> selfcheck.Outcome:
    """A missing answer's message, with the error that stopped its cell."""
    cell = answers.get(outcome.missing)
    if not outcome.missing or cell not in errors:
        return outcome
    return selfcheck.Outcome(
        outcome.grade_id,
        outcome.points,
        outcome.status,
        f"{outcome.missing} is not defined: its answer cell {cell} " f"stopped with {errors[cell]}",
        outcome.missing,
    )


if __name__ == "__main__":
    sys.exit(main())
