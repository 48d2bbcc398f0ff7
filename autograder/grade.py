"""``grade``: grade every hand-in of an exercise, each notebook in a fresh sandboxed kernel.

Each framework's version of an exercise is an nbgrader assignment of its own
(``tying_mxnet``), so nbgrader's views score a learner out of that notebook's points; a
learner who hands in several frameworks is scored by the best (``course.counted``).
For each submitted notebook the instructor's version (from the release and the
gradebook, hidden tests included) is rebuilt and only the student's answer cells,
matched by nbgrader ``grade_id``, are copied in: edited, deleted, reordered or added
test cells do not matter. Each notebook runs in its own sandboxed kernel through
:mod:`autograder.kernel`, with a probe cell in place of each test cell; every verdict is
decided here, from the data the probes send back (:mod:`autograder.judging`), never in the
kernel. Kernels run in parallel; this process alone writes the gradebook (the way
nbgrader's ``SaveAutoGrades`` does), so formgrader, ``generate_feedback`` and ``export``
see the results as if ``nbgrader autograde`` had made them.

The work unit is one notebook: :class:`NotebookTask` (plain data, read here) in,
:func:`grade_notebook` (kernel, probes, verdicts) out, run here or on a Dask cluster's
workers (:mod:`autograder.cluster`) with the same code.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import datetime
import functools
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from pmcheck import FRAMEWORK_MODULES

from . import service
from .course import FRAMEWORKS, Course, CourseError, counted, quiet_log
from .execute import Execution, run_notebook
from .judging import TestCell, Verdict, plan_probes, read_test_cells
from .kernel import FactoryError, KernelFactory, Limits, Scratch, sandbox_available, sandbox_problem
from .notebooks import NotebookError, grade_id, is_answer, is_auto_test, points, read_notebook
from .release import ensure_released
from .review import Flag, machinery_flags

#: The tag of the learner's self-check cell (``check(...)``): grading does not run it, as
#: it would only run the public tests a second time.
SELF_CHECK = "self-check"
SELF_CHECK_NOTE = "# the learner's self-check: not run when the notebook is graded"
#: Files beside a notebook larger than this are not copied into the kernel's folder.
MAX_DATA_FILE_BYTES = 16 << 20
#: All the files that travel with one notebook to its kernel, together.
MAX_TASK_FILE_BYTES = 64 << 20


@dataclass(frozen=True)
class QuestionResult:
    """One auto-graded test cell of one notebook."""

    notebook: str  #: e.g. "tying_mxnet"
    grade_id: str
    score: float
    max_score: float
    message: str  #: the failing check's plain-words message, "" when passed


@dataclass(frozen=True)
class SubmissionResult:
    """One student's automatic score for an exercise.

    ``score`` and ``max_score`` are those of the notebook that counts (the best one
    the student handed in, see ``course.counted``); answers graded by hand are not
    included. ``questions`` lists every auto-graded question of every notebook handed in.
    """

    student: str
    exercise: str
    score: float
    max_score: float
    problems: list[str]
    questions: list[QuestionResult]
    notebook: str = ""  #: the notebook that counts, "" when none was submitted
    #: answers that reach into the machinery, for the instructor to review (not verdicts)
    flags: list[str] = field(default_factory=list)
    #: seconds each notebook took, from its kernel's start to its verdicts (by name)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _NotebookOutcome:
    name: str
    submitted: bool
    executed: NotebookNode | None = None
    questions: list[QuestionResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)


@dataclass(frozen=True)
class NotebookTask:
    """One notebook to grade, as plain data that can travel to another machine.

    Everything :func:`grade_notebook` needs is here and nothing points at the course on
    disk: the instructor's notebook (hidden tests included) and its test cells, the
    student's notebook as read, the files to put beside it (the hand-in's data, then the
    assignment's own files; at most ``MAX_TASK_FILE_BYTES`` together) and the limits.
    """

    name: str  #: the notebook, e.g. "tying_mxnet"
    template: NotebookNode
    tests: tuple[TestCell, ...]
    submitted: NotebookNode
    files: dict[str, bytes]  #: relative path -> contents, written into the kernel's folder
    notes: tuple[str, ...]  #: problems met while gathering the files
    limits: Limits
    frameworks: tuple[str, ...]  #: what the instructor's notebook imports


def grade_assignment(
    course_dir: Path | str | None,
    name: str,
    *,
    students: list[str] | None = None,
    workers: int | None = None,
    progress: bool = False,
    limits: Limits | None = None,
    sandbox: bool | None = None,
    warm: bool = True,
    release: bool = False,
    scheduler: str | None = None,
) -> list[SubmissionResult]:
    """Grade every (or each given) student's hand-in of an exercise or of one assignment.

    ``name`` is an exercise (``tying``: its assignments in every framework, the best one
    counting) or one nbgrader assignment (``tying_mxnet``). A student's notebooks are read
    from ``submitted/<student>/<assignment>/``.

    ``sandbox`` runs each kernel in its own sandbox (:mod:`autograder.sandbox`); by default
    it does, and grading stops with the reason if no sandbox can start here.
    ``sandbox=False`` is for submissions one trusts. ``warm`` forks every sandboxed
    kernel from a kernel factory that imported its notebook's frameworks once
    (:mod:`autograder.factory`); if a factory cannot start, grading says so in one line
    and starts those kernels afresh.
    ``limits`` default to :class:`Limits`, with the course's nbgrader cell timeout of
    ``c.Execute.timeout`` when it sets one. An assignment never released is released
    first; one whose source changed since is released again only with ``release``.
    Results come back sorted by student; nothing a submission does raises here.

    ``scheduler`` (a Dask scheduler's address, ``tcp://HOST:8786``) grades each notebook as
    a task on that cluster, on the workers' warm kernel factories (:mod:`autograder.cluster`);
    ``workers`` then caps the notebooks sent at once, and the sandbox is the workers' to start.
    This process still writes the gradebook, alone.
    """
    course = Course.open(course_dir)
    exercise, assignments = course.resolve(name)
    everyone = sorted({s for assignment in assignments for s in course.students(assignment)})
    if students is not None:
        unknown = sorted(set(students) - set(everyone))
        if unknown:
            raise CourseError(
                f"no hand-in of {name!r} in {course.submitted} from: " f"{', '.join(unknown)}"
            )
        everyone = sorted(set(students))
    if sandbox is None and scheduler is not None:
        sandbox = True  # each worker says so if it cannot start one
    if sandbox is None:
        if not sandbox_available():
            raise CourseError(
                f"cannot grade safely: no sandbox can start here "
                f"({sandbox_problem()}); grade where Linux user namespaces "
                "work, or pass --no-sandbox for submissions you trust"
            )
        sandbox = True
    # factories start (at once, importing while the grader gets ready) only for the
    # notebooks someone being graded handed in: a framework nobody chose costs nothing
    graded = set(everyone)
    needs = {
        notebook: tuple(
            frameworks_imported([read_notebook(course.source / assignment / f"{notebook}.ipynb")])
        )
        for assignment in assignments
        if graded & set(course.students(assignment))
        for notebook in course.notebooks(assignment)
    }
    # with a scheduler the factories are the workers': none starts here
    kernels = _Kernels(sandbox, warm and sandbox and scheduler is None, needs)
    try:
        return _grade(
            course,
            exercise,
            assignments,
            everyone,
            workers,
            progress,
            limits,
            kernels,
            release,
            scheduler,
            warm,
        )
    finally:
        kernels.close()


def _grade(
    course: Course,
    exercise: str,
    assignments: list[str],
    students: list[str],
    workers: int | None,
    progress: bool,
    limits: Limits | None,
    kernels: _Kernels,
    release: bool,
    scheduler: str | None = None,
    warm: bool = True,
) -> list[SubmissionResult]:
    templates: dict[str, NotebookNode] = {}
    assignment_of: dict[str, str] = {}
    for assignment in assignments:
        ensure_released(course, assignment, again=release)
        for notebook, nb in instructor_notebooks(course, assignment).items():
            templates[notebook] = nb
            assignment_of[notebook] = assignment
    tests = {notebook: read_test_cells(nb, notebook) for notebook, nb in templates.items()}
    grader = _Grader(
        course, exercise, templates, assignment_of, tests, limits or course_limits(course), kernels
    )
    try:
        if scheduler is not None:
            from .cluster import grade_on_cluster

            return asyncio.run(
                grade_on_cluster(
                    grader,
                    scheduler,
                    students,
                    workers,
                    progress,
                    sandbox=kernels.sandbox,
                    warm=warm,
                )
            )
        workers = max(1, workers or default_workers(kernels.warm))
        return asyncio.run(grader.grade_all(students, workers, progress))
    finally:
        grader.recorder.close()


def default_workers(warm: bool) -> int:
    """Notebooks graded at once: three per core with warm kernels, which wait more than
    they compute (60 notebooks on 2 cores with the kernel service, four runs each: 6.8 s
    with 4 at once, 6.4 s with 6); one per core when every kernel imports its framework
    afresh."""
    cores = os.cpu_count() or 1
    return 3 * cores if warm else cores


def course_limits(course: Course) -> Limits:
    """The default limits, with the course's nbgrader cell timeout if it sets one."""
    timeout = course.config.Execute.get("timeout")
    return Limits(cell_timeout=float(timeout)) if timeout else Limits()


def instructor_notebooks(course: Course, assignment: str) -> dict[str, NotebookNode]:
    """The instructor's version of each notebook: the release with hidden tests restored.

    The test cells come from the gradebook, where ``nbgrader generate_assignment``
    stored them before it removed the hidden tests.
    """
    from nbgrader.api import Gradebook

    templates = {}
    with Gradebook(course.db_url, course.coursedir().course_id) as gradebook:
        for name in course.notebooks(assignment):
            nb = read_notebook(course.released_path(assignment, name))
            stored = {c.name: c for c in gradebook.find_notebook(name, assignment).source_cells}
            for cell in nb.cells:
                source = stored.get(grade_id(cell))
                if source is not None:
                    cell.metadata.nbgrader["checksum"] = source.checksum
                    if not is_answer(cell):
                        cell.source = source.source
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
                if SELF_CHECK in cell.metadata.get("tags", []):
                    cell.source = SELF_CHECK_NOTE
            templates[name] = nb
    return templates


def merge_answers(
    template: NotebookNode, submitted: NotebookNode
) -> tuple[NotebookNode, list[str]]:
    """The instructor's notebook with the student's answer cells copied in.

    Answers are matched by nbgrader ``grade_id``, then by cell id when a front end
    dropped the nbgrader metadata. Returns the notebook and notes on missing answers and
    on answer cells that share one grade_id (the first of them is graded).
    """
    by_grade_id: dict[str, tuple[int, NotebookNode]] = {}
    by_cell_id: dict[str, NotebookNode] = {}
    notes = []
    for index, cell in enumerate(submitted.cells):
        if grade_id(cell) and is_answer(cell):
            if grade_id(cell) in by_grade_id:
                first = by_grade_id[grade_id(cell)][0]
                notes.append(
                    f"cells {first + 1} and {index + 1} are both marked as answer "
                    f"{grade_id(cell)}; cell {first + 1} was graded"
                )
            else:
                by_grade_id[grade_id(cell)] = (index, cell)
        elif "id" in cell and not grade_id(cell):
            by_cell_id.setdefault(cell["id"], cell)
    graded = copy.deepcopy(template)
    for cell in graded.cells:
        if not is_answer(cell):
            continue
        answer = by_grade_id.get(grade_id(cell), (0, None))[1] or by_cell_id.get(cell.get("id", ""))
        if answer is None:
            notes.append(f"answer cell {grade_id(cell)} is missing; graded as unanswered")
        else:
            cell.source = answer.source
    return graded, notes


def _unscored(template: NotebookNode, name: str, why: str) -> list[QuestionResult]:
    return [
        QuestionResult(name, grade_id(cell), 0.0, points(cell), why)
        for cell in template.cells
        if is_auto_test(cell)
    ]


def _question_results(name: str, verdicts: list[Verdict]) -> list[QuestionResult]:
    return [
        QuestionResult(name, v.grade_id, v.points if v.passed else 0.0, v.points, v.message)
        for v in verdicts
    ]


def frameworks_imported(notebooks) -> list[str]:
    """The frameworks the instructor's notebooks import, for the factory to preload."""
    found = set()
    for nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                found |= {IMPORTS[n.split(".")[0]] for n in names if n.split(".")[0] in IMPORTS}
    return [framework for framework in FRAMEWORKS if framework in found]


#: The framework each module belongs to.
IMPORTS = {module: framework for framework, module in FRAMEWORK_MODULES.items()}


class _Kernels:
    """Where the graded kernels come from: warm factories, or fresh kernels.

    There is one factory per set of frameworks a notebook imports (so, in this course, one
    per framework): they import in parallel, each stays smaller, and a kernel forked from
    one carries only its own framework. A factory that dies takes its kernels with it:
    each notebook it was running is run again, once, on a new factory (and only then
    reported as a problem).
    """

    def __init__(self, sandbox: bool, warm: bool, needs: dict[str, tuple[str, ...]]) -> None:
        self.sandbox = sandbox
        self.needs = needs  #: notebook name -> the frameworks it imports
        self.factories: dict[tuple[str, ...], KernelFactory | None] = {}
        self.folder = tempfile.mkdtemp(prefix="autograder-factory-") if warm else None
        self.starts = 0
        self._lock = asyncio.Lock()
        self._key_locks: dict[tuple[str, ...], asyncio.Lock] = {}
        self._waiting: set[tuple[str, ...]] = set()
        if warm:  # they import the frameworks while the grader gets ready
            for key in sorted(set(needs.values())):
                self._spawn_factory(key)

    @property
    def warm(self) -> bool:
        """Whether kernels come from factories (as long as one is starting or ready)."""
        return any(factory is not None for factory in self.factories.values())

    def _spawn_factory(self, key: tuple[str, ...]) -> None:
        """The kernel service's factory for ``key`` if one runs, else a factory of our own."""
        factory = service.connect(key)
        if factory is None:
            self.starts += 1
            log = Path(self.folder) / f"factory-{self.starts}.log"
            factory = KernelFactory.spawn(list(key), log)
        self.factories[key] = factory
        self._waiting.add(key)

    def prepare(self, key: tuple[str, ...]) -> None:
        """Start the factory for ``key`` unless it is started (or cannot start, or is cold)."""
        if key not in self.factories and self.folder is not None:
            self._spawn_factory(key)

    async def _ready(self, key: tuple[str, ...]) -> KernelFactory | None:
        """The factory for ``key`` once it is ready (None: it is not, said once, go on).

        Each notebook waits for its own factory only: PyTorch's notebooks are graded while
        MindSpore is still being imported.
        """
        async with self._key_locks.setdefault(key, asyncio.Lock()):
            self.prepare(key)  # on a cluster's worker, each factory starts when first needed
            if key in self._waiting:
                self._waiting.discard(key)
                try:
                    await asyncio.get_running_loop().run_in_executor(
                        None, self.factories[key].wait_ready
                    )
                except FactoryError as error:
                    self.factories[key] = None
                    print(
                        f"autograder: {error}; its kernels start afresh instead (slower)",
                        file=sys.stderr,
                    )
        return self.factories.get(key)

    async def run(
        self,
        key: tuple[str, ...],
        nb: NotebookNode,
        scratch: Scratch,
        limits: Limits,
        probe_cells: frozenset[int],
    ) -> Execution:
        """Run ``nb`` on a kernel that has the frameworks ``key`` imported."""
        for attempt in (1, 2):
            factory = await self._ready(key)
            execution = await run_notebook(
                nb if attempt == 2 else copy.deepcopy(nb),
                scratch,
                limits,
                sandbox=self.sandbox,
                probe_cells=probe_cells,
                factory=factory,
            )
            if not execution.factory_lost:
                return execution
            async with self._lock:
                if self.factories.get(key) is factory:  # the first to notice starts a new one
                    factory.close()
                    self._spawn_factory(key)
            if attempt == 1:
                shutil.rmtree(scratch.run, ignore_errors=True)
        execution.problems.append(
            "the kernel factory died twice while running this "
            "notebook; it was not graded to the end"
        )
        return execution

    def close(self) -> None:
        for factory in self.factories.values():
            if factory is not None:
                factory.close()
        self.factories.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class _Grader:
    """Runs the kernels concurrently and records each finished student at once."""

    def __init__(
        self,
        course: Course,
        exercise: str,
        templates: dict[str, NotebookNode],
        assignment_of: dict[str, str],
        tests: dict[str, list[TestCell]],
        limits: Limits,
        kernels: _Kernels,
    ) -> None:
        self.course = course
        self.exercise = exercise
        self.templates = templates  #: notebook name -> the instructor's notebook
        self.assignment_of = assignment_of  #: notebook name -> its nbgrader assignment
        self.tests = tests
        self.limits = limits
        self.kernels = kernels
        self.recorder = _Recorder(course)
        #: where each notebook is graded: here, or on a cluster (autograder.cluster)
        self.run = functools.partial(grade_notebook, kernels=kernels)
        self._course_files: dict[str, dict[str, bytes]] = {}  #: assignment -> its files

    async def grade_all(
        self, students: list[str], workers: int, progress: bool
    ) -> list[SubmissionResult]:
        from tqdm import tqdm

        slots = asyncio.Semaphore(workers)
        with tqdm(
            total=len(students),
            desc=f"grading {self.exercise}",
            unit="submission",
            file=sys.stderr,
            disable=not progress,
            leave=False,
        ) as bar:

            async def one(student: str) -> SubmissionResult:
                result = await self.grade_student(student, slots)
                bar.update()
                return result

            results = await asyncio.gather(*(one(student) for student in students))
        return sorted(results, key=lambda r: r.student)

    async def grade_student(self, student: str, slots: asyncio.Semaphore) -> SubmissionResult:
        """Grade and record each assignment of the exercise the student handed in."""
        assignments = sorted(
            set(self.assignment_of.values()), key=list(self.assignment_of.values()).index
        )
        handed_in = [
            a for a in assignments if os.path.lexists(self.course.submission_dir(student, a))
        ]
        results = await asyncio.gather(*(self.grade_hand_in(student, a, slots) for a in handed_in))
        outcomes = [o for found, _ in results for o in found]
        problems = [p for _, lines in results for p in lines]
        return _summarize(student, self.exercise, outcomes, problems, self.templates)

    async def grade_hand_in(
        self,
        student: str,
        assignment: str,
        slots: asyncio.Semaphore,
    ) -> tuple[list[_NotebookOutcome], list[str]]:
        """One nbgrader submission: its notebooks graded, then recorded in the gradebook."""
        folder = self.course.submission_dir(student, assignment)
        names = [n for n, a in self.assignment_of.items() if a == assignment]
        refused = _refused_folder(self.course, student, assignment)
        if refused:
            # recorded as zero, so that the instructor's views show the hand-in
            outcomes = [
                _NotebookOutcome(n, True, None, _unscored(self.templates[n], n, refused))
                for n in names
            ]
            problems = [refused]
            try:
                await self.recorder.record(student, assignment, outcomes, None, files=False)
            except Exception as error:  # noqa: BLE001
                problems.append(
                    f"could not record in the gradebook: {type(error).__name__}: " f"{error}"
                )
            return outcomes, problems
        expected = ", ".join(f"{n}.ipynb" for n in names)
        problems = [
            f"ignored {assignment}/{p.name}: grading reads {expected} (rename the file "
            "if it is your work)"
            for p in sorted(folder.glob("*.ipynb"))
            if p.stem not in names
        ]

        async def graded(name: str) -> _NotebookOutcome:
            async with slots:
                try:
                    return await self.grade_notebook(folder, name)
                except Exception as error:  # noqa: BLE001 -- one notebook never stops the rest
                    return _NotebookOutcome(
                        name,
                        True,
                        None,
                        _unscored(self.templates[name], name, "not graded"),
                        [
                            f"{name}.ipynb: not graded, internal error: "
                            f"{type(error).__name__}: {error}"
                        ],
                    )

        outcomes = list(await asyncio.gather(*(graded(name) for name in names)))
        if not any(o.submitted for o in outcomes):
            problems.append(f"{assignment}: no {expected} in {folder}")
        timestamp, problem = submission_timestamp(folder)
        if problem:
            problems.append(problem)
        try:
            await self.recorder.record(student, assignment, outcomes, timestamp)
        except Exception as error:  # noqa: BLE001
            problems.append(f"could not record in the gradebook: {type(error).__name__}: {error}")
        return outcomes, problems

    async def grade_notebook(self, folder: Path, name: str) -> _NotebookOutcome:
        task = self.task(folder, name)
        if isinstance(task, _NotebookOutcome):
            return task
        return await self.run(task)

    def task(self, folder: Path, name: str) -> NotebookTask | _NotebookOutcome:
        """The work unit for ``folder``'s notebook ``name``: read here, graded anywhere.

        A notebook not handed in, or one that cannot be read, is its outcome already.
        """
        path = folder / f"{name}.ipynb"
        if not os.path.lexists(path):
            return _NotebookOutcome(name, submitted=False)
        template = self.templates[name]
        try:
            _refuse_link(path)
            submitted = read_notebook(path)
        except NotebookError as error:
            return _NotebookOutcome(
                name, True, None, _unscored(template, name, str(error)), [str(error)]
            )
        assignment = self.assignment_of[name]
        if assignment not in self._course_files:
            self._course_files[assignment] = _gather_files(self.course.source / assignment)[0]
        files, notes = _gather_files(
            folder,
            skip=("timestamp.txt",),
            budget=MAX_TASK_FILE_BYTES - sum(map(len, self._course_files[assignment].values())),
        )
        return NotebookTask(
            name,
            template,
            tuple(self.tests[name]),
            submitted,
            {**files, **self._course_files[assignment]},
            tuple(notes),
            self.limits,
            self.kernels.needs.get(name, ()),
        )


async def grade_notebook(task: NotebookTask, kernels: _Kernels) -> _NotebookOutcome:
    """The work unit: one notebook graded in a fresh sandboxed kernel, judged here.

    The student's answers go into the instructor's notebook, each test cell becomes a probe
    cell, the kernel (from ``kernels``) runs it and every verdict is decided in this
    process from the data the probes sent back. Runs wherever ``kernels`` live: in ``grade``
    itself, or on a Dask worker (:mod:`autograder.cluster`).
    """
    name = task.name
    started = time.monotonic()
    nb, notes = merge_answers(task.template, task.submitted)
    plan = plan_probes(nb, list(task.tests))
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        scratch = Scratch(work=Path(tmp) / "work", run=Path(tmp) / "run")
        _write_files(task.files, scratch.work)
        execution = await kernels.run(
            task.frameworks,
            plan.notebook,
            scratch,
            task.limits,
            frozenset(c.index for c in plan.cells),
        )
    verdicts = plan.judge(execution.notebook, execution.payloads)
    problems = [f"{name}.ipynb: {line}" for line in notes + list(task.notes) + execution.problems]
    return _NotebookOutcome(
        name,
        True,
        plan.graded_notebook(execution.notebook, verdicts),
        _question_results(name, verdicts),
        problems,
        machinery_flags(nb, name),
        time.monotonic() - started,
    )


def _refused_folder(course: Course, student: str, assignment: str) -> str | None:
    """Why a submission folder is not graded: it, or the student's folder, is a link."""
    for folder in (course.submitted / student, course.submission_dir(student, assignment)):
        if folder.is_symlink():
            return (
                f"not graded: {folder.relative_to(course.root)} is a symbolic link; hand "
                "in real files"
            )
    inside = course.submitted.resolve()
    if inside not in course.submission_dir(student, assignment).resolve().parents:
        return f"not graded: submitted/{student}/{assignment} lies outside submitted/"
    return None


def _refuse_link(path: Path) -> None:
    """Refuse a notebook that is a symbolic or hard link: it could be anyone's file."""
    if path.is_symlink():
        raise NotebookError(
            f"{path.name} is a symbolic link; not graded (hand in the file " "itself)"
        )
    if path.stat().st_nlink > 1:
        raise NotebookError(
            f"{path.name} is a hard link to another file; not graded (hand " "in a copy)"
        )


def submission_timestamp(folder: Path) -> tuple[datetime.datetime | None, str | None]:
    """The time in ``timestamp.txt`` (None if there is none), and a problem line if it is bad.

    A file that is not a date, or a date in the future, is reported and then ignored, so
    the submission is still recorded.
    """
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if not os.path.lexists(path):
        return None, None
    try:
        _refuse_link(path)
        text = path.read_bytes()[:200].decode("utf-8", "replace").strip()
    except (NotebookError, OSError) as error:
        return None, f"timestamp.txt ignored: {error}"
    if not text:
        return None, None
    try:
        stamp = parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return None, f"timestamp.txt ignored: {text[:60]!r} is not a date"
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if stamp > now + datetime.timedelta(minutes=5):
        return None, f"timestamp.txt ignored: {text[:60]!r} is in the future"
    return stamp, None


def _copy_files(source: Path, dest: Path, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Copy the files other than notebooks (data a notebook may read) into ``dest``.

    Links and oversized files are left out, each with a note.
    """
    files, notes = _gather_files(source, skip=skip, budget=1 << 62)  # each file capped only
    _write_files(files, dest)
    return notes


def _gather_files(
    source: Path, *, skip: tuple[str, ...] = (), budget: int = MAX_TASK_FILE_BYTES
) -> tuple[dict[str, bytes], list[str]]:
    """The files other than notebooks below ``source`` (data a notebook may read), read.

    Links, files over ``MAX_DATA_FILE_BYTES`` and whatever would pass ``budget`` bytes in
    all are left out, each with a note.
    """
    files: dict[str, bytes] = {}
    notes = []
    for path in sorted(source.rglob("*")):
        if path.suffix == ".ipynb" or path.name in skip or path.is_dir() and not path.is_symlink():
            continue
        name = path.relative_to(source)
        if path.is_symlink() or not path.is_file():
            notes.append(f"ignored {name}: a symbolic link or not a plain file")
        elif path.stat().st_nlink > 1:
            notes.append(f"ignored {name}: a hard link to another file")
        elif path.stat().st_size > MAX_DATA_FILE_BYTES:
            notes.append(f"ignored {name}: larger than {MAX_DATA_FILE_BYTES >> 20} MiB")
        elif path.stat().st_size > budget:
            notes.append(
                f"ignored {name}: the files beside the notebook pass "
                f"{MAX_TASK_FILE_BYTES >> 20} MiB together"
            )
        else:
            files[str(name)] = data = path.read_bytes()
            budget -= len(data)
    return files, notes


def _write_files(files: dict[str, bytes], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _expected(templates: dict[str, NotebookNode]) -> str:
    return ", ".join(f"{name}.ipynb" for name in templates)


def _summarize(
    student: str,
    exercise: str,
    outcomes: list[_NotebookOutcome],
    problems: list[str],
    templates: dict[str, NotebookNode],
) -> SubmissionResult:
    submitted = [o for o in outcomes if o.submitted]
    questions = [q for o in submitted for q in o.questions]
    problems = problems + [p for o in submitted for p in o.problems]
    flags = [str(f) for o in submitted for f in o.flags]
    seconds = {o.name: o.seconds for o in submitted if o.executed is not None}
    if not submitted:
        if not problems:
            problems.append(f"no notebook submitted (expected one of {_expected(templates)})")
        best_max = max(
            (sum(points(c) for c in nb.cells if is_auto_test(c)) for nb in templates.values()),
            default=0.0,
        )
        return SubmissionResult(
            student, exercise, 0.0, best_max, problems, questions, flags=flags, seconds=seconds
        )
    best = {o.name: o for o in submitted}[
        counted({o.name: (o.score, o.max_score) for o in submitted})
    ]
    return SubmissionResult(
        student,
        exercise,
        best.score,
        best.max_score,
        problems,
        questions,
        best.name,
        flags,
        seconds,
    )


#: Times one student's results are written before a conflict with another writer is an error.
RECORD_ATTEMPTS = 5


class _Recorder:
    """Writes each student's results the way ``nbgrader autograde`` would, in one session.

    One gradebook connection serves the whole run and each student is one transaction:
    nbgrader's own SaveAutoGrades and AssignLatePenalties open the database again for
    every notebook and commit after every cell, which costs more than grading the notebook.
    They are followed here step by step (``_save_auto_grades``, ``_assign_late_penalty``).
    All of it happens in one thread of its own, so that waiting for the disk never holds
    up the kernels; students are recorded one after the other, in the order they finish.
    """

    def __init__(self, course: Course) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.course = course
        self.gradebook = None
        self.late_plugin = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="gradebook")

    async def record(
        self,
        student: str,
        assignment: str,
        outcomes: list[_NotebookOutcome],
        timestamp: datetime.datetime | None,
        *,
        files: bool = True,
    ) -> None:
        """One student's scores, and unless ``files`` is False their autograded folder."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._thread,
            functools.partial(self._record, student, assignment, outcomes, timestamp, files=files),
        )

    def _open(self) -> None:
        from nbgrader.api import Gradebook
        from nbgrader.preprocessors import AssignLatePenalties

        # SQLite wants its connection used by the thread that made it: this one
        self.gradebook = Gradebook(self.course.db_url, self.course.coursedir().course_id)
        late = AssignLatePenalties(config=self.course.config, log=quiet_log())
        late.init_plugin()
        self.late_plugin = late.plugin_inst

    def _record(
        self,
        student: str,
        assignment: str,
        outcomes: list[_NotebookOutcome],
        timestamp: datetime.datetime | None,
        *,
        files: bool = True,
    ) -> None:
        """One transaction, tried again when another writer got in the way.

        Another ``grade`` run (of another assignment) may add the same student at the same
        moment, or hold SQLite's lock: the losing transaction is rolled back and repeated,
        and then finds what the other one wrote.
        """
        from nbgrader.api import InvalidEntry
        from sqlalchemy.exc import IntegrityError, OperationalError

        if self.gradebook is None:
            self._open()
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                return self._record_once(student, assignment, outcomes, timestamp, files=files)
            except (InvalidEntry, IntegrityError, OperationalError):
                if attempt == RECORD_ATTEMPTS:
                    raise
                time.sleep(0.1 * attempt)

    def _record_once(
        self,
        student: str,
        assignment: str,
        outcomes: list[_NotebookOutcome],
        timestamp: datetime.datetime | None,
        *,
        files: bool = True,
    ) -> None:
        gradebook = self.gradebook
        with warnings.catch_warnings():
            # nbgrader's own session use makes SQLAlchemy warn on a first submission
            warnings.simplefilter("ignore", category=Warning)
            try:
                _record_submission(gradebook, student, assignment, timestamp)
                _zero_unreadable(gradebook, student, assignment, outcomes)
                if files:
                    self._write_autograded(student, assignment, outcomes)
                _record_flags(gradebook, student, assignment, outcomes)
                gradebook.db.commit()
            except BaseException:
                gradebook.db.rollback()
                raise

    def _write_autograded(
        self, student: str, assignment: str, outcomes: list[_NotebookOutcome]
    ) -> None:
        """autograded/<student>/<assignment>/: the graded notebooks, their scores saved."""
        dest = self.course.autograded / student / assignment
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for outcome in outcomes:
            if outcome.executed is None:
                continue
            _save_auto_grades(self.gradebook, outcome.executed, outcome.name, assignment, student)
            _assign_late_penalty(
                self.gradebook, self.late_plugin, outcome.name, assignment, student
            )
            # written as it is: validating the notebook we built would cost more than writing
            (dest / f"{outcome.name}.ipynb").write_text(
                nbformat.v4.writes(outcome.executed), encoding="utf-8"
            )
        _copy_files(self.course.submission_dir(student, assignment), dest)

    def close(self) -> None:
        def close() -> None:
            if self.gradebook is not None:
                self.gradebook.close()
                self.gradebook.engine.dispose()  # a database server's connections, too

        self._thread.submit(close).result()
        self._thread.shutdown()


def _save_auto_grades(
    gradebook, nb: NotebookNode, notebook: str, assignment: str, student: str
) -> None:
    """nbgrader's SaveAutoGrades, without a commit per cell (nor a query per cell)."""
    from nbgrader.api import Comment, Grade, MissingEntry
    from nbgrader.utils import compute_checksum, determine_grade, is_grade, is_solution, is_task

    grades = _rows_by_cell(gradebook, Grade, notebook, assignment, student)
    comments = _rows_by_cell(gradebook, Comment, notebook, assignment, student)
    for cell in nb.cells:
        if is_grade(cell):
            grade = grades.get(grade_id(cell))
            if grade is None:
                raise MissingEntry(f"no grade {grade_id(cell)} of {student} in {notebook}")
            grade.auto_score, _ = determine_grade(cell, quiet_log())
            # a manual grade, or no automatic one, means a person must look at it
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        if is_solution(cell) or is_task(cell):
            comment = comments.get(grade_id(cell))
            if comment is None:
                raise MissingEntry(f"no comment {grade_id(cell)} of {student} in {notebook}")
            unchanged = cell.metadata.nbgrader.get("checksum") == compute_checksum(cell)
            comment.auto_comment = "No response." if unchanged and not is_task(cell) else None


def _rows_by_cell(gradebook, model, notebook: str, assignment: str, student: str) -> dict:
    """Every Grade (or Comment) of a student's notebook, by its cell's name: one query.

    nbgrader's ``find_grade`` and ``find_comment`` ask the database once per cell (twice
    for a task cell); for the course's notebooks that was most of writing a student.
    """
    from nbgrader.api import Assignment, BaseCell, Notebook, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy.orm import contains_eager

    rows = (
        gradebook.db.query(model)
        .join(BaseCell, BaseCell.id == model.cell_id)
        .join(SubmittedNotebook, SubmittedNotebook.id == model.notebook_id)
        .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
        .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
        .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
        .filter(
            Notebook.name == notebook,
            Assignment.name == assignment,
            SubmittedAssignment.student_id == student,
        )
        .options(contains_eager(model.cell))
        .all()
    )
    return {row.cell.name: row for row in rows}


def _assign_late_penalty(gradebook, plugin, notebook: str, assignment: str, student: str) -> None:
    """nbgrader's AssignLatePenalties: the course's late-submission plugin decides."""
    submission = gradebook.find_submission(assignment, student)
    graded = gradebook.find_submission_notebook(notebook, assignment, student)
    graded.late_submission_penalty = None
    if submission.total_seconds_late > 0:
        penalty = plugin.late_submission_penalty(
            student, graded.score, submission.total_seconds_late
        )
        if penalty is not None:
            graded.late_submission_penalty = min(max(penalty, 0), graded.score)


def _record_submission(
    gradebook, student: str, assignment: str, timestamp: datetime.datetime | None
) -> None:
    gradebook.update_or_create_student(student)
    if timestamp:
        gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)
    else:
        gradebook.update_or_create_submission(assignment, student)


def _zero_unreadable(
    gradebook, student: str, assignment: str, outcomes: list[_NotebookOutcome]
) -> None:
    """Zero the notebooks that are missing or unreadable, as nbgrader does for a missing one."""
    for outcome in outcomes:
        if outcome.executed is None:
            notebook = gradebook.find_submission_notebook(outcome.name, assignment, student)
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False


def _record_flags(
    gradebook, student: str, assignment: str, outcomes: list[_NotebookOutcome]
) -> None:
    """Flag each notebook with answers to review; the reason goes in the cell's comment."""
    from nbgrader.api import MissingEntry

    for outcome in outcomes:
        if outcome.executed is None:
            continue
        notebook = gradebook.find_submission_notebook(outcome.name, assignment, student)
        notebook.flagged = bool(outcome.flags)
        for flag in outcome.flags:
            try:
                comment = gradebook.find_comment(flag.answer, outcome.name, assignment, student)
            except MissingEntry:  # an answer cell without a comment row: the flag stays
                continue
            comment.auto_comment = str(flag)


def format_table(results: list[SubmissionResult]) -> str:
    """The summary the ``grade`` command prints: student, score, max, problems."""
    rows = [("student", "score", "max", "problems")]
    for r in results:
        rows.append(
            (r.student, f"{r.score:g}", f"{r.max_score:g}", "; ".join(r.problems + r.flags) or "-")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        lines.append(
            "  ".join(
                [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2]), row[3]]
            ).rstrip()
        )
    return "\n".join(lines)
