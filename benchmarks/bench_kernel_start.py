"""Time starting one graded kernel and running ``1+1``, sandboxed and not (median of 5).

    .venv/bin/python benchmarks/bench_kernel_start.py [--runs 5]

Each run is a fresh kernel through ``execute.run_notebook``, as grading starts one per
notebook, so the time includes the launcher, the sandbox and the kernel's shutdown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.execute import run_notebook
from autograder.kernel import Limits, Scratch, sandbox_available

os.environ.setdefault("GLOG_v", "3")


def _one_plus_one() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1+1")])


def _time_one(sandbox: bool) -> float:
    nb = _one_plus_one()
    with tempfile.TemporaryDirectory(prefix="bench-kernel-") as tmp:
        scratch = Scratch(work=Path(tmp) / "work", run=Path(tmp) / "run")
        start = time.perf_counter()
        execution = asyncio.run(run_notebook(nb, scratch, Limits(), sandbox=sandbox))
        elapsed = time.perf_counter() - start
    result = execution.notebook.cells[0].outputs
    if execution.problems or not result or result[0].get("data", {}).get("text/plain") != "2":
        raise SystemExit(f"the kernel did not answer 2: {execution.problems} {result}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    modes = [False] + ([True] if sandbox_available() else [])
    for sandbox in modes:
        times = [_time_one(sandbox) for _ in range(args.runs)]
        label = "sandbox on " if sandbox else "sandbox off"
        print(
            f"{label}: median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} runs)"
        )
    if len(modes) == 1:
        print("sandbox on : not available on this machine")


if __name__ == "__main__":
    main()
