"""Build the book from clean clones as two machines would; check every fact in both builds.

The two builds differ in what changes the last bits of float arithmetic: the number of math
threads, and the vector instructions the frameworks' kernels may use. The first uses 1
thread and every instruction this processor has; the second 2 threads and at most AVX2, as
on a processor without AVX-512 (PyTorch's ATen, oneDNN and MKL each take a cap). A number
the text states that only one machine computes fails here, not on a reader's machine.

For each run, a fresh ``git clone`` of the repository (its committed HEAD) is built with
``OMP_NUM_THREADS`` and the cap set: ``make book`` cold, ``make book`` again, and
``jupyter-book build`` again (which checks every page and its cache, where make sees that
nothing is newer). Then its fact tests (the chapter and book tests, which read the built
pages and notebooks) run twice against that build. The report gives the build times, the training
numbers of the tying chapter in both builds, and which notebooks printed anything
different between the runs. The clones use this checkout's virtual environment.

    .venv/bin/python tests/helpers/book_determinism.py    # as make determinism runs it
    .venv/bin/python tests/helpers/book_determinism.py --threads 1 2 4 --vectors native native avx2

tests/test_book_determinism.py runs it as part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pmcheck

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The tests that check what the built book states: they read its pages and notebooks.
FACT_TESTS = [
    "tests/test_chapter_tying.py",
    "tests/test_chapter_initialization.py",
    "tests/test_chapter_deferred.py",
    "tests/test_chapter_saving.py",
    "tests/test_book_accessing.py",
    "tests/test_book_exercises.py",
    "tests/test_book_notebooks.py",
]
FRAMEWORKS = pmcheck.FRAMEWORKS
# The caps of each library on the vector instructions it dispatches to, by name of the cap.
VECTOR_CAPS = {
    "native": {},
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's own kernels
        "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN in PyTorch
        "DNNL_MAX_CPU_ISA": "AVX2",  # the older oneDNN in MXNet
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # MKL's BLAS
    },
}


@dataclass
class Run:
    """One clean clone, built and checked with one thread count and vector cap."""

    threads: int
    vector: str = "native"  # a key of VECTOR_CAPS
    cold_seconds: float = 0.0  # make book, in a fresh clone
    warm_seconds: float = 0.0  # make book again
    rebuild_seconds: float = 0.0  # jupyter-book build again, past make's check
    executed_cold: int = 0
    executed_warm: int = 0
    executed_rebuild: int = 0
    fact_runs: list[str] = field(default_factory=list)  # pytest's summary line, per run
    facts_passed: list[bool] = field(default_factory=list)
    training: dict[str, list[str]] = field(default_factory=dict)  # framework -> printed lines
    printed: dict[str, str] = field(default_factory=dict)  # notebook -> its stdout

    @property
    def warm_share(self) -> float:
        return self.warm_seconds / self.cold_seconds if self.cold_seconds else 0.0

    @property
    def name(self) -> str:
        return f"OMP_NUM_THREADS={self.threads}, vector instructions {self.vector}"


def _environment(clone: Path, threads: int, vector: str) -> dict[str, str]:
    caps = {name for cap in VECTOR_CAPS.values() for name in cap}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BOOK_OUTPUT", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", *caps)
    }
    env.update(VECTOR_CAPS[vector])
    env.update(
        OMP_NUM_THREADS=str(threads),
        GLOG_v="3",
        # The clone's own package, not the checkout the venv was installed from.
        PYTHONPATH=str(clone),
    )
    return env


def _build(clone: Path, env: dict[str, str], make: bool) -> tuple[float, int, str]:
    venv = BIN.parent
    command = (
        # The venv is this checkout's, and make must not install it again (-o: take the
        # stamp of its installation as up to date).
        ["make", "--no-print-directory", f"VENV={venv}", "-o", f"{venv}/.installed", "book"]
        if make
        else [
            str(BIN / "jupyter-book"),
            "build",
            str(clone),
            "--builder",
            "html",
            "-W",
            "-n",
            "--keep-going",
        ]
    )
    start = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(
            f"the book did not build in {clone}:\n{result.stdout[-4000:]}"
            f"{result.stderr[-4000:]}"
        )
    executed = len(re.findall(r"\): executed in ", result.stdout))
    return seconds, executed, result.stdout


def _facts(clone: Path, env: dict[str, str]) -> tuple[bool, str]:
    # BOOK_OUTPUT: the fact tests read the clone's own build, the one `make book` made there.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FACT_TESTS],
        cwd=clone,
        env={**env, "BOOK_OUTPUT": str(clone)},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else result.stderr[-500:]
    if result.returncode != 0:
        summary += "\n" + result.stdout[-6000:]
    return result.returncode == 0, summary


def _read_outputs(clone: Path, run: Run) -> None:
    import nbformat

    html = clone / "_build" / "html"
    for path in sorted((html / "_downloads" / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        run.printed[path.stem] = "".join(
            out.get("text", "")
            for cell in notebook.cells
            if cell.cell_type == "code"
            for out in cell.outputs
            if out.get("name") == "stdout"
        )
    for framework in FRAMEWORKS:
        text = run.printed.get(f"book_tying_{framework}", "")
        run.training[framework] = [
            line for line in text.splitlines() if line.startswith(("step ", "training accuracy"))
        ]


def check(threads: int, workdir: Path, vector: str = "native") -> Run:
    """Clone, build cold and warm, and run the fact tests twice, with one thread count and
    vector cap."""
    clone = workdir / f"clone-{threads}-threads-{vector}"
    if clone.exists():
        shutil.rmtree(clone)
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        timeout=600,
    )
    env = _environment(clone, threads, vector)
    run = Run(threads, vector)
    run.cold_seconds, run.executed_cold, _ = _build(clone, env, make=True)
    run.warm_seconds, run.executed_warm, _ = _build(clone, env, make=True)
    run.rebuild_seconds, run.executed_rebuild, _ = _build(clone, env, make=False)
    for _ in range(2):
        passed, summary = _facts(clone, env)
        run.facts_passed.append(passed)
        run.fact_runs.append(summary)
    _read_outputs(clone, run)
    return run


def differences(runs: list[Run]) -> dict[str, int]:
    """Per notebook, how many printed lines differ between the first run and any other."""
    first, others = runs[0], runs[1:]
    found = {}
    for name, text in first.printed.items():
        lines = text.splitlines()
        changed = max(
            (
                sum(a != b for a, b in zip(lines, other.printed.get(name, "").splitlines()))
                + abs(len(lines) - len(other.printed.get(name, "").splitlines()))
                for other in others
            ),
            default=0,
        )
        if changed:
            found[name] = changed
    return found


def report(runs: list[Run]) -> str:
    out = []
    for run in runs:
        out.append(
            f"{run.name}: make book cold {run.cold_seconds:.1f} s "
            f"({run.executed_cold} notebooks run), again {run.warm_seconds:.2f} s "
            f"({run.executed_warm} run, {100 * run.warm_share:.1f} % of cold); "
            f"jupyter-book build again {run.rebuild_seconds:.1f} s "
            f"({run.executed_rebuild} run)"
        )
        for number, summary in enumerate(run.fact_runs, start=1):
            out.append(f"  fact tests, run {number}: {summary.splitlines()[0]}")
        for framework, lines in run.training.items():
            out.append(f"  tying, {framework}:")
            out.extend(f"    {line}" for line in lines)
    changed = differences(runs)
    out.append(
        "notebooks whose printed output differs between the runs: "
        + (", ".join(f"{name} ({n} lines)" for name, n in changed.items()) or "none")
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--vectors",
        nargs="+",
        choices=sorted(VECTOR_CAPS),
        default=["native", "avx2"],
        help="the vector cap of each run, one per thread count",
    )
    parser.add_argument("--keep", type=Path, help="build the clones here and keep them")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if len(args.vectors) != len(args.threads):
        parser.error("give one --vectors value per --threads value")
    with tempfile.TemporaryDirectory(prefix="book-determinism-") as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        runs = [
            check(threads, workdir, vector)
            for threads, vector in zip(args.threads, args.vectors, strict=True)
        ]
    print(report(runs))
    if args.json:
        args.json.write_text(json.dumps([asdict(run) for run in runs], indent=1))
    return 0 if all(all(run.facts_passed) for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
