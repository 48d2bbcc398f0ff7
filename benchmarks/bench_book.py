"""Time `make book` in fresh clones of two revisions: cold, again, after a one-cell edit.

    .venv/bin/python benchmarks/bench_book.py [--revisions b9e8d87 HEAD] [--rounds 2]

For each round and revision (interleaved, so that other load on the machine falls on both
alike), a fresh clone is built with `make book` (cold), built again with nothing changed
(warm), then built once more after one MXNet cell of the tying chapter changed (edit). The
clones use this checkout's virtual environment. Also timed: `jupyter-book build` with
nothing changed, which the tests run and which `make book` skips when nothing is newer.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
EDITED = ("mx.random.seed(0)\n", "mx.random.seed(0)  # edited\n")  # tying's MXNet setup cell


def timed(command: list[str], clone: Path) -> tuple[float, str]:
    env = {**os.environ, "GLOG_v": "3", "PYTHONPATH": str(clone)}
    env.pop("OMP_NUM_THREADS", None)
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=clone, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    if result.returncode != 0:
        raise SystemExit(
            f"{command} failed in {clone}:\n{result.stdout[-3000:]}" f"{result.stderr[-3000:]}"
        )
    return time.perf_counter() - start, result.stdout


def executed(log: str) -> str:
    """What a build executed, in the words of either revision's log."""
    ours = re.findall(r"^(\S+ \(\w+\)): executed in", log, re.MULTILINE)
    theirs = re.findall(r"^\S+/(book/\w+)\.md: Executed notebook", log, re.MULTILINE)
    return ", ".join(ours + theirs) or "nothing"


def measure(revision: str, workdir: Path) -> dict[str, tuple[float, str]]:
    clone = workdir / f"clone-{revision}"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", revision], cwd=clone, check=True)
    make = ["make", "--no-print-directory", f"VENV={VENV}", "-o", f"{VENV}/.installed", "book"]
    jupyter_book = [
        str(VENV / "bin" / "jupyter-book"),
        "build",
        ".",
        "--builder",
        "html",
        "-W",
        "-n",
        "--keep-going",
    ]
    times = {}
    for step in ("cold", "warm"):
        seconds, log = timed(make, clone)
        times[step] = (seconds, executed(log))
    seconds, log = timed(jupyter_book, clone)
    times["jupyter-book warm"] = (seconds, executed(log))
    tying = clone / "book" / "tying.md"
    tying.write_text(tying.read_text().replace(*EDITED, 1))
    seconds, log = timed(make, clone)
    times["one MXNet cell edited"] = (seconds, executed(log))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", nargs="+", default=["b9e8d87", "HEAD"])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {revision: [] for revision in args.revisions}
    for _ in range(args.rounds):
        for revision in args.revisions:
            with tempfile.TemporaryDirectory(prefix="bench-book-") as workdir:
                results[revision].append(measure(revision, Path(workdir)))
    for revision, rounds in results.items():
        print(f"{revision}:")
        for step in rounds[0]:
            seconds = [r[step][0] for r in rounds]
            print(
                f"  {step:24s} median {statistics.median(seconds):6.2f} s "
                f"(runs: {', '.join(f'{s:.2f}' for s in seconds)}); "
                f"executed: {rounds[-1][step][1]}"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
