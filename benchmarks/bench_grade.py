"""Grade one batch with stock ``nbgrader autograde`` and with ``grade``, in the same run.

    .venv/bin/python benchmarks/bench_grade.py [--exercise tying] [--batch 60]
                                               [--workers N] [--no-nbgrader] [--cold]
                                               [--no-service] [--cluster N] [--postgres]

Works on throw-away copies of exercises/ and hands in the reference solutions, the
frameworks in turn (20 each for a batch of 60; each framework's notebook is an nbgrader
assignment of its own, which stock nbgrader grades one after the other), so every kernel
runs every cell. Prints
each grader's wall time and the ratio; for ``grade`` also the per-notebook latency (p50,
p95) and the peak memory of the whole grading process tree, counted as PSS (shared pages
once, sampled twice a second). Memory is sampled in a second run of the same batch, not in
the timed one: reading PSS costs the kernel CPU time, about 4% of a warm run. Two rows for ``grade``:
with the factories it starts itself (their imports inside the timed run), and with the
kernel service (``autograder factory start``, started here before the clock starts and
stopped after; ``--no-service`` leaves that row out). The service of this run lives in a
folder of its own: one the user may be running is never used. ``--cold`` also times
``grade`` without the warm kernel factory. ``--cluster N``
also times ``grade --scheduler`` on a Dask ``LocalCluster`` of N worker processes started
here, twice: first as the workers start their kernel factories, then again with them warm
(the time of starting the cluster itself is left out). ``--postgres`` also times ``grade``
with its gradebook in PostgreSQL, on the tests' throw-away server
(tests/helpers/postgres_fixtures.py).

Where this process may make a cgroup (root, with cgroup v1's cpuacct or v2), each row also
shows the CPU seconds that grader used, its kernels included: unlike wall time, that does
not change with whatever else the machine is running.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from autograder.course import DEFAULT_COURSE, Course, copy_course
from autograder.grade import SubmissionResult, grade_assignment
from autograder.release import release_assignments, solution_submission


def make_course(
    root: Path, exercise: str, batch: int, db_url: str | None = None
) -> tuple[Course, list[str]]:
    course = copy_course(DEFAULT_COURSE, root)
    if db_url:
        with (course.root / "nbgrader_config.py").open("a") as config:
            config.write(f"c.CourseDirectory.db_url = {db_url!r}\n")
    release_assignments(course.root, [exercise])
    assignments = course.resolve(exercise)[1]
    students = [f"student{i:03d}" for i in range(batch)]
    for i, student in enumerate(students):
        assignment = assignments[i % len(assignments)]
        path = course.submission_dir(student, assignment) / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(solution_submission(course.root, assignment, assignment), path)
    return course, students


class PeakMemory:
    """Samples the PSS of this process and all its descendants; ``peak`` in bytes."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, sum(_pss(pid) for pid in _tree(os.getpid())))


class CpuMeter:
    """CPU seconds used by this process and everything it starts, from a cgroup of its own.

    Wall times move with whatever else the machine runs; the CPU time of the grading does
    not. Needs a writable cgroup file system (cgroup v1's cpuacct or v2, as root);
    ``seconds()`` is None where there is none.
    """

    def __init__(self) -> None:
        self.usage: Path | None = None
        self.scale = 1.0
        name = f"bench-grade-{os.getpid()}"
        for root, usage, scale in (
            ("/sys/fs/cgroup/cpuacct", "cpuacct.usage", 1e-9),
            ("/sys/fs/cgroup", "cpu.stat", 1e-6),
        ):
            group = Path(root) / name
            if not (Path(root) / usage).exists():  # not this cgroup version here
                continue
            try:
                group.mkdir(exist_ok=True)
                (group / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                continue
            self.usage, self.scale = group / usage, scale
            atexit.register(self._remove, Path(root), group)
            break

    @staticmethod
    def _remove(root: Path, group: Path) -> None:
        try:
            (root / "cgroup.procs").write_text(str(os.getpid()))
            group.rmdir()  # fails while a process of the run lingers: then it stays
        except OSError:
            pass

    def seconds(self) -> float | None:
        if self.usage is None:
            return None
        text = self.usage.read_text()
        if self.usage.name == "cpu.stat":
            text = next(
                line.split()[1] for line in text.splitlines() if line.startswith("usage_usec")
            )
        return int(text) * self.scale


CPU = CpuMeter()


def cpu_used(since: float | None) -> float | None:
    now = CPU.seconds()
    return None if now is None or since is None else now - since


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def stock_nbgrader(course: Course, exercise: str) -> tuple[float, float | None]:
    nbgrader = Path(sys.executable).with_name("nbgrader")
    start, cpu = time.perf_counter(), CPU.seconds()
    for assignment in course.resolve(exercise)[1]:
        result = subprocess.run(
            [str(nbgrader), "autograde", assignment, "--force"],
            cwd=course.root,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
            raise SystemExit("nbgrader autograde failed")
    return time.perf_counter() - start, cpu_used(cpu)


def ours(
    course: Course,
    assignment: str,
    workers: int,
    warm: bool,
    scheduler: str | None = None,
) -> tuple[float, list[SubmissionResult], float | None]:
    """One timed grading run, with nothing sampling it: wall time, results, CPU seconds."""
    start, cpu = time.perf_counter(), CPU.seconds()
    results = grade_assignment(
        course.root, assignment, workers=workers, warm=warm, scheduler=scheduler
    )
    elapsed, cpu = time.perf_counter() - start, cpu_used(cpu)
    wrong = [r for r in results if r.score != r.max_score or r.problems]
    for result in wrong:
        print(
            f"warning: {result.student} got {result.score:g}/{result.max_score:g} "
            f"{result.problems}",
            file=sys.stderr,
        )
    return elapsed, results, cpu


def peak_memory(root: Path, args: argparse.Namespace, warm: bool, db_url: str | None = None) -> int:
    """The peak PSS of grading the same batch once more, on a fresh copy of the course.

    Apart from the timed run: reading the PSS of every process of the tree costs the
    kernel CPU time (about 0.3 s in a run of 8 s), which the timed run would pay.
    """
    course, _ = make_course(root, args.exercise, args.batch, db_url)
    with PeakMemory() as memory:
        grade_assignment(course.root, args.exercise, workers=args.workers, warm=warm)
    return memory.peak


def with_service(tmp: Path, args: argparse.Namespace) -> tuple:
    """``grade`` with the kernel service warm; starting it is timed apart, not counted."""
    from autograder import service

    course, _ = make_course(tmp / "service-course", args.exercise, args.batch)
    start = time.perf_counter()
    service.start()  # a child of this process: its kernels count in CPU and memory
    print(f"  (the kernel service took {time.perf_counter() - start:.1f} s to start)")
    try:
        elapsed, results, cpu = ours(course, args.exercise, args.workers, True)
        peak = peak_memory(tmp / "service-memory", args, True)
    finally:
        service.stop()
    latencies = [s for r in results for s in r.seconds.values()]
    return ("grade (kernel service)", elapsed, latencies, peak, cpu)


def on_cluster(tmp: Path, args: argparse.Namespace) -> list[tuple]:
    """``grade --scheduler`` on a LocalCluster: as its workers start their factories, then warm."""
    from distributed import LocalCluster

    threads = max(1, 2 * (os.cpu_count() or 1) // args.cluster)
    rows = []
    with LocalCluster(
        n_workers=args.cluster,
        threads_per_worker=threads,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    ) as cluster:
        for label in (f"grade, {args.cluster}-worker cluster", "  again, factories warm"):
            course, _ = make_course(tmp / f"cluster{len(rows)}", args.exercise, args.batch)
            elapsed, results, cpu = ours(
                course, args.exercise, args.workers, True, cluster.scheduler_address
            )
            # the workers' memory is not this process tree's: no peak to show
            rows.append(
                (label, elapsed, [s for r in results for s in r.seconds.values()], None, cpu)
            )
    return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default="tying")
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument(
        "--workers", type=int, default=None, help="notebooks graded at once (default: grade's own)"
    )
    parser.add_argument("--no-nbgrader", action="store_true", help="skip stock nbgrader")
    parser.add_argument(
        "--cold", action="store_true", help="also time grade without the " "warm kernel factory"
    )
    parser.add_argument(
        "--no-service", action="store_true", help="skip the row with the kernel service"
    )
    parser.add_argument(
        "--cluster",
        type=int,
        default=0,
        metavar="N",
        help="also time grade on a Dask LocalCluster of N worker processes",
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also time grade with a PostgreSQL gradebook"
    )
    args = parser.parse_args()
    os.environ.setdefault("GLOG_v", "3")
    tmp = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    # no service of the user's own may serve any row: this run's lives here
    os.environ["AUTOGRADER_RUNTIME_DIR"] = str(tmp / "service")
    try:
        print(
            f"{args.batch} reference submissions of {args.exercise}, frameworks in turn; "
            f"{os.cpu_count()} cores, {args.workers or 'default'} workers, load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        rows = []
        stock = stock_cpu = None
        if not args.no_nbgrader:
            course, _ = make_course(tmp / "stock", args.exercise, args.batch)
            stock, stock_cpu = stock_nbgrader(course, args.exercise)
            rows.append(("nbgrader autograde", stock, None, None, stock_cpu))
        modes = [("grade (own factories)", True)] + (
            [("grade (fresh kernels)", False)] if args.cold else []
        )
        for label, warm in modes:
            name = label.split()[1].strip("(")
            course, _ = make_course(tmp / name, args.exercise, args.batch)
            elapsed, results, cpu = ours(course, args.exercise, args.workers, warm)
            peak = peak_memory(tmp / f"{name}-memory", args, warm)
            latencies = [s for r in results for s in r.seconds.values()]
            rows.append((label, elapsed, latencies, peak, cpu))
        if not args.no_service:
            rows.append(with_service(tmp, args))
        if args.cluster:
            rows += on_cluster(tmp, args)
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from helpers.postgres_fixtures import throwaway_server

            with throwaway_server() as server:
                url = server.url(server.create_database())
                course, _ = make_course(tmp / "postgres", args.exercise, args.batch, url)
                elapsed, results, cpu = ours(course, args.exercise, args.workers, True)
                url = server.url(server.create_database())
                peak = peak_memory(tmp / "postgres-memory", args, True, url)
                rows.append(
                    (
                        "grade, PostgreSQL",
                        elapsed,
                        [s for r in results for s in r.seconds.values()],
                        peak,
                        cpu,
                    )
                )
        for label, elapsed, latencies, peak, cpu in rows:
            line = (
                f"  {label:<24} {elapsed:7.1f} s  {elapsed / args.batch:6.3f} s per " "submission"
            )
            if stock is not None and label != "nbgrader autograde":
                line += f"  {stock / elapsed:5.1f}x faster than nbgrader"
            print(line)
            if cpu is not None:
                line = f"  {'':<24} {cpu:7.1f} s of CPU"
                if stock_cpu and label != "nbgrader autograde":
                    line += f"  {stock_cpu / cpu:5.1f}x less than nbgrader"
                print(line)
            if latencies:
                memory = f"; peak memory (PSS) {peak / 2**30:.2f} GiB" if peak else ""
                print(
                    f"  {'':<24} per notebook p50 {percentile(latencies, 0.5):.2f} s, p95 "
                    f"{percentile(latencies, 0.95):.2f} s{memory}"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
