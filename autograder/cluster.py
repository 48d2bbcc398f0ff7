"""Grading on a Dask cluster: each notebook one task, each worker with warm kernel factories of its own.

``grade NAME --scheduler tcp://HOST:8786`` sends every notebook's :class:`NotebookTask` --
the instructor's notebook and checks, the student's notebook and its files, the limits: plain
data, size-capped, no path on a shared disk -- to the cluster, where the work unit
:func:`autograder.grade.grade_notebook` grades it in a sandboxed kernel forked from that
worker's warm factory and returns the outcome as plain data. The factories are started once
per worker by a worker plugin (:class:`WarmKernels`), not once per task. Only the process
that runs ``grade`` writes the gradebook, as each student's results arrive.

A worker that dies takes its running notebooks with it; the scheduler gives them to another
worker. With the scheduler's ``allowed-failures`` at 1 (``grade`` asks for it, see
:func:`retry_once`) a notebook is tried on two workers at most, then reported as not graded:
none is lost, and since each task has one result that this process reads once, none is
counted twice.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
import uuid

from distributed.diagnostics.plugin import WorkerPlugin

from .course import CourseError
from .grade import NotebookTask, _Grader, _Kernels, _NotebookOutcome, _unscored, grade_notebook
from .kernel import sandbox_available, sandbox_problem

#: The worker plugin's name: registering it again (another grade run) keeps the running one.
PLUGIN = "autograder-kernels"
#: Times a notebook is started on a worker that then dies, before it is reported.
ALLOWED_FAILURES = 1
#: Seconds to reach the scheduler before saying it cannot be reached.
CONNECT_SECONDS = 10


class WarmKernels(WorkerPlugin):
    """A worker plugin: on each worker, the kernels every grading task there uses.

    They live on an event loop of their own, in a thread of their own, so that the kernels'
    I/O never holds up the worker's own loop (its heartbeats), and they start once per worker:
    the factory for a set of frameworks is started the first time a task (or ``prewarm``)
    asks for it and serves every later task on that worker. Tasks run in the worker's
    threads, each waiting for its notebook on this loop.
    """

    name = PLUGIN
    idempotent = True  # a second grade run finds the factories already warm

    def setup(self, worker=None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="autograder-kernels"
        )
        self.thread.start()
        self.kernels: dict[tuple[bool, bool], _Kernels] = {}
        self.lock = threading.Lock()

    def teardown(self, worker=None) -> None:
        async def close() -> None:
            for kernels in self.kernels.values():
                kernels.close()

        try:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    def kernels_for(self, sandbox: bool, warm: bool) -> _Kernels:
        with self.lock:
            if (sandbox, warm) not in self.kernels:
                if sandbox and not sandbox_available():
                    raise RuntimeError(
                        f"this worker cannot start a sandbox " f"({sandbox_problem()})"
                    )
                self.kernels[sandbox, warm] = _Kernels(sandbox, warm and sandbox, {})
            return self.kernels[sandbox, warm]

    def prewarm(self, keys: list[tuple[str, ...]], sandbox: bool) -> None:
        """Start importing the frameworks of ``keys`` now, before the first task asks."""
        kernels = self.kernels_for(sandbox, True)
        for key in keys:
            self.loop.call_soon_threadsafe(kernels.prepare, tuple(key))

    def grade(self, task: NotebookTask, sandbox: bool, warm: bool) -> _NotebookOutcome:
        kernels = self.kernels_for(sandbox, warm)
        return asyncio.run_coroutine_threadsafe(grade_notebook(task, kernels), self.loop).result()


def grade_task(task: NotebookTask, sandbox: bool, warm: bool) -> _NotebookOutcome:
    """The task a worker runs: one notebook, on that worker's own warm kernels."""
    from distributed import get_worker

    return get_worker().plugins[PLUGIN].grade(task, sandbox, warm)


def _prewarm(keys: list[tuple[str, ...]], sandbox: bool, dask_worker=None) -> None:
    dask_worker.plugins[PLUGIN].prewarm(keys, sandbox)


def retry_once(dask_scheduler=None) -> None:
    """Run on the scheduler: a task whose worker dies is given to one other worker only."""
    dask_scheduler.allowed_failures = ALLOWED_FAILURES


async def grade_on_cluster(
    grader: _Grader,
    address: str,
    students: list[str],
    workers: int | None,
    progress: bool,
    *,
    sandbox: bool,
    warm: bool,
) -> list:
    """Grade ``students`` as ``grader`` does, every notebook a task on the cluster at ``address``.

    ``workers`` caps the notebooks sent at once (default: two per thread of the cluster).
    """
    from distributed import Client

    try:
        client = await Client(
            address, asynchronous=True, name="autograder-grade", timeout=CONNECT_SECONDS
        )
    except (OSError, ValueError, TypeError) as error:
        raise CourseError(
            f"cannot reach the Dask scheduler at {address}: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
        ) from None
    async with client:
        await client.register_plugin(WarmKernels(), name=PLUGIN)
        try:
            await client.run_on_scheduler(retry_once)
        except Exception as error:  # noqa: BLE001 -- grading goes on, with Dask's default
            print(
                f"autograder: could not set the scheduler's allowed-failures to "
                f"{ALLOWED_FAILURES} ({type(error).__name__}); a notebook may be tried on "
                "more workers that die",
                file=sys.stderr,
            )
        keys = sorted(set(grader.kernels.needs.values()))
        if warm and sandbox and keys:
            await client.run(_prewarm, keys, sandbox)
        threads = sum((await client.nthreads()).values())
        if not threads:
            print(
                f"autograder: the cluster at {address} has no workers yet; the notebooks "
                "wait for one",
                file=sys.stderr,
            )
        run = f"{grader.exercise}-{uuid.uuid4().hex[:8]}"
        grader.run = functools.partial(_on_cluster, client, run, sandbox, warm)
        return await grader.grade_all(students, workers or max(4, 2 * threads), progress)


async def _on_cluster(
    client, run: str, sandbox: bool, warm: bool, task: NotebookTask
) -> _NotebookOutcome:
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    # the dashboard groups tasks by the name's first word
    future = client.submit(
        grade_task,
        task,
        sandbox,
        warm,
        pure=False,
        key=f"grade-{task.name}-{run}-{uuid.uuid4().hex[:12]}",
    )
    try:
        return await future
    except KilledWorker:
        why = (
            "not graded: the worker grading it died, and so did the one that tried "
            "again (if a notebook is to blame, grade it alone with --student)"
        )
    except FutureCancelledError as error:
        why = f"not graded: the cluster dropped its task ({error.reason})"
    finally:
        future.release()
    return _NotebookOutcome(
        task.name,
        True,
        None,
        _unscored(task.template, task.name, why),
        [f"{task.name}.ipynb: {why}"],
    )
