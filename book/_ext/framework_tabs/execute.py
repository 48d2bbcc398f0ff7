"""Run framework notebooks in their own kernels, a few at a time, with a cache of the runs."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .notebooks import join_streams

# The variables through which the math libraries of the three frameworks pick their number of
# threads (OpenMP for MXNet and MindSpore's CPU kernels, MKL and OpenBLAS under numpy and
# PyTorch). Left alone, each takes every core, and the order of a sum then depends on the
# machine.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def kernel_threads(environ: dict[str, str] | None = None) -> int:
    """The math-library threads of every kernel: OMP_NUM_THREADS if set, else one."""
    value = (environ if environ is not None else os.environ).get("OMP_NUM_THREADS", "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else 1


def kernel_environment(threads: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a kernel: ours, with its threads and Python's hashing fixed."""
    env = dict(environ if environ is not None else os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env["PYTHONHASHSEED"] = "0"  # set iteration order does not change from run to run
    return env


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    """One notebook to run: where its record goes, what it is, where it runs."""

    key: str
    notebook: NotebookNode
    cwd: Path
    label: str  # for messages, e.g. "book/tying (MXNet)"
    # Where the kernel process's own output goes (MindSpore's C++ log lines, say), so that
    # it does not fill the build's; the cells' outputs are in the notebook either way.
    log: Path | None = None


@dataclass(frozen=True)
class Outcome:
    job: Job
    notebook: NotebookNode | None  # the executed notebook; None if it failed
    seconds: float
    error: str = ""  # what went wrong, with the traceback
    summary: str = ""  # the error in one line, e.g. "ZeroDivisionError: division by zero"


@dataclass(frozen=True)
class Settings:
    threads: int
    timeout: int | None
    allow_errors: bool
    in_temp: bool = False


class RunCache:
    """Executed notebooks, one file per run, named by the key of what decides the outputs."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.ipynb"

    def get(self, key: str) -> NotebookNode | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - a record cut short by a crash: run it again
            return None

    def put(self, key: str, notebook: NotebookNode) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_if_changed(self.path(key), nbformat.writes(notebook) + "\n")

    def prune(self, keep: Iterable[str]) -> list[str]:
        """Delete the records of runs no page uses any more; returns their keys."""
        keep = set(keep)
        gone = []
        for path in self.folder.glob("*.ipynb") if self.folder.is_dir() else []:
            if path.stem not in keep:
                path.unlink()
                gone.append(path.stem)
        return gone


def write_if_changed(path: Path, text: str) -> bool:
    """Write text atomically unless the file holds it already; True if written."""
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
    ) as handle:
        handle.write(text)
    os.replace(handle.name, path)
    return True


def merge_streams(notebook: NotebookNode) -> None:
    r"""Join each run of stream outputs of one name (stdout, stderr) into one, text as is.

    The kernel sends what a cell prints in pieces, cut wherever its output thread happened
    to flush, even inside a line: one run of a cell may give "a: 1" and "\nb: 2\n" where
    another gives one piece. MyST-NB, merging the pieces for the page, ends each piece with
    a newline of its own, so a cut inside a line would show as an empty line that the next
    run does not have. Joined here, the page and the downloaded notebook show the text the
    cell printed, however it was cut.
    """
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = join_streams(cell.get("outputs", []))


def run(job: Job, settings: Settings) -> Outcome:
    """Execute one notebook in a fresh kernel of its own."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    notebook = nbformat.from_dict(job.notebook)
    start = time.perf_counter()
    if job.log is not None:
        job.log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, open(job.log or os.devnull, "wb") as log:
        cwd = scratch if settings.in_temp else str(job.cwd)
        client = NotebookClient(
            notebook,
            timeout=settings.timeout,
            allow_errors=settings.allow_errors,
            record_timing=False,  # timestamps would make every run's file differ
            resources={"metadata": {"path": cwd}},
        )
        where = f" (the kernel's own output is in {job.log})" if job.log else ""
        try:
            client.execute(env=kernel_environment(settings.threads), stdout=log, stderr=log)
        except (CellExecutionError, CellTimeoutError) as error:
            summary = (
                f"{error.ename}: {error.evalue}"
                if hasattr(error, "ename")
                else str(error).strip().splitlines()[-1]
            )
            return Outcome(job, None, time.perf_counter() - start, f"{error}{where}", summary)
        except Exception as error:  # noqa: BLE001 - the kernel died or would not start
            return Outcome(
                job,
                None,
                time.perf_counter() - start,
                f"{traceback.format_exc()}{where}",
                f"{type(error).__name__}: {error}",
            )
    merge_streams(notebook)
    return Outcome(job, notebook, time.perf_counter() - start)


def run_all(
    jobs: list[Job],
    settings: Settings,
    workers: int | None = None,
    done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run the jobs, as many at once as the cores allow at the kernels' thread count.

    The kernels are separate processes, so threads here only wait on them. Longer
    notebooks start first, so that the last one to finish is a short one.
    """
    if not jobs:
        return []
    if workers is None or workers < 1:
        workers = max(1, available_cores() // max(1, settings.threads))
    workers = min(workers, len(jobs))
    ordered = sorted(
        jobs,
        key=lambda job: -sum(
            len(cell.source) for cell in job.notebook.cells if cell.cell_type == "code"
        ),
    )
    outcomes = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notebook") as pool:
        futures = [pool.submit(run, job, settings) for job in ordered]
        for future in as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            if done is not None:
                done(outcome)
    return outcomes
