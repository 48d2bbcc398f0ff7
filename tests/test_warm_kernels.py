"""Do the warm factory's kernels start clean, survive a dying factory, and fall back?

Grading forks every kernel from one factory that imported the frameworks once. Nothing a
submission does may reach the next one; a factory killed mid-batch loses no notebook and
counts none twice; a factory that cannot start leaves grading to fresh kernels.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import grade as grading
from autograder import service
from autograder.course import DEFAULT_COURSE
from autograder.kernel import KernelFactory, Limits
from autograder.notebooks import with_answers
from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy, refuse_own_factories

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

LEAK = """
import builtins, os, sys, threading, time, types
import numpy, torch, mxnet, mindspore
numpy.LEAK = builtins.LEAK = "leaked"
sys.modules["leaked_module"] = types.ModuleType("leaked_module")
os.environ["LEAK"] = "leaked"
for path in ("leak.txt", "/tmp/leak.txt", os.path.expanduser("~/leak.txt"), "/dev/shm/leak"):
    open(path, "w").write("leaked")
torch.set_default_dtype(torch.float64)
torch.manual_seed(123)
numpy.random.seed(123)
mxnet.random.seed(123)
mindspore.set_seed(123)
mindspore.set_context(mode=mindspore.GRAPH_MODE)
threading.Thread(target=time.sleep, args=(600,), daemon=True, name="leaked-thread").start()
"""

OBSERVE = """
import builtins, json, os, sys, threading
import numpy, torch, mindspore
report = {
    "attributes": [hasattr(numpy, "LEAK"), hasattr(builtins, "LEAK"),
                   "leaked_module" in sys.modules, "LEAK" in os.environ],
    "files": [os.path.exists(p) for p in ("leak.txt", "/tmp/leak.txt",
                                          os.path.expanduser("~/leak.txt"), "/dev/shm/leak")],
    "dtype": str(torch.get_default_dtype()),
    "torch_seed": torch.initial_seed(),
    "numpy_key": int(numpy.random.get_state()[1][0]),
    "mindspore": [mindspore.get_seed(), mindspore.get_context("mode")],
    "threads": sorted(t.name for t in threading.enumerate()),
}
print("REPORT" + json.dumps(report))
"""


def report(course: CourseCopy, student: str) -> dict:
    graded = nbformat.read(
        course.root / "autograded" / student / "tying_pytorch" / "tying_pytorch.ipynb", 4
    )
    text = "".join(out.get("text", "") for cell in graded.cells for out in cell.get("outputs", []))
    return json.loads(text.split("REPORT", 1)[1].splitlines()[0])


@pytest.mark.parametrize("source", ["own factory", "kernel service"])
def test_nothing_a_submission_does_reaches_the_next(source, tmp_path, monkeypatch):
    if source == "kernel service":  # it outlives the run, so each run is checked too
        monkeypatch.setenv("AUTOGRADER_RUNTIME_DIR", str(tmp_path / "service"))
        service.start([("pytorch",)], idle=600)
        refuse_own_factories(monkeypatch)
    try:
        _nothing_reaches_the_next(tmp_path, runs=2 if source == "kernel service" else 1)
    finally:
        service.stop()


def _nothing_reaches_the_next(tmp_path, runs: int) -> None:
    course = CourseCopy(DEFAULT_COURSE, tmp_path / "course")
    solution = course.solution_submission("tying", "tying_pytorch")
    answer = next(
        c.source
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "answer_make_tied_net"
    )
    course.submit(
        "a-leaker",
        "tying",
        "tying_pytorch",
        with_answers(solution, {"answer_tied_weight_grad": LEAK}),
    )
    for student in ("b-observer", "c-observer"):
        course.submit(
            student,
            "tying",
            "tying_pytorch",
            with_answers(solution, {"answer_make_tied_net": OBSERVE + "\n" + answer}),
        )
    results = {r.student: r for r in course.grade("tying", workers=1)}
    first, second = report(course, "b-observer"), report(course, "c-observer")
    if runs == 2:  # the leaker's run is over; the next run's kernels see nothing either
        [again] = course.grade("tying", workers=1, students=["c-observer"])
        assert again.score == again.max_score
        second = report(course, "c-observer")
    for seen in (first, second):
        assert seen["attributes"] == [False] * 4
        assert seen["files"] == [False] * 4
        assert seen["dtype"] == "torch.float32"
        assert seen["torch_seed"] != 123 and seen["numpy_key"] != 123
        assert seen["mindspore"] == [None, 1]  # no seed, PyNative mode
        assert "leaked-thread" not in seen["threads"]
    assert first["torch_seed"] != second["torch_seed"]  # each kernel draws its own seeds
    assert results["b-observer"].score == results["b-observer"].max_score


def _factory_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if b"autograder.factory" in handle.read():
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


SLOW = "import time\ntime.sleep(4)\ndef square(x):\n    return x * x"


def test_a_factory_killed_mid_batch_loses_no_notebook_and_counts_none_twice(tmp_path):
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    solution = course.solution_submission("squares", "squares_pytorch")
    students = [f"s{i}" for i in range(6)]
    for student in students:
        course.submit(
            student, "squares", "squares_pytorch", with_answers(solution, {"square_answer": SLOW})
        )
    killed: list[int] = []

    def kill_once_busy():
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            time.sleep(0.5)
            if (course.root / "autograded").exists():  # one student is done, two run
                for pid in _factory_pids():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

    killer = threading.Thread(target=kill_once_busy)
    killer.start()
    results = course.grade("squares", workers=2, limits=Limits(cell_timeout=30))
    killer.join()
    assert killed, "the factory was never killed"
    assert [r.student for r in results] == students
    assert [(r.score, r.problems) for r in results] == [(3, [])] * 6

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", "fixture-course") as gradebook:
        assert len(gradebook.assignment_submissions("squares_pytorch")) == len(students)
        assert [gradebook.find_submission("squares_pytorch", s).score for s in students] == [3] * 6


def test_a_factory_that_cannot_start_leaves_grading_to_fresh_kernels(tmp_path, monkeypatch, capfd):
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    course.submit(
        "alice",
        "squares",
        "squares_pytorch",
        course.solution_submission("squares", "squares_pytorch"),
    )
    monkeypatch.setattr(grading, "frameworks_imported", lambda notebooks: ["no-such-framework"])
    results = course.grade("squares")
    assert (results[0].score, results[0].problems) == (3, [])
    lines = [line for line in capfd.readouterr().err.splitlines() if "afresh" in line]
    assert len(lines) == 1 and "the kernel factory could not start" in lines[0]


def test_warm_kernels_compute_in_every_framework_without_a_word_on_stderr(tmp_path):
    """Does a forked kernel run each framework's forward and backward pass, silently?"""
    import asyncio

    from autograder.execute import run_notebook
    from autograder.kernel import Scratch

    cells = [
        "import torch\nx = torch.ones(3, requires_grad=True)\n(x * x).sum().backward()\n"
        "print(x.grad.tolist())",
        "import numpy as np\nnp.bool = bool\nfrom mxnet import autograd, nd\nx = nd.ones(3)\n"
        "x.attach_grad()\nwith autograd.record():\n    y = (x * x).sum()\ny.backward()\n"
        "print(x.grad.asnumpy().tolist())",
        "import mindspore as ms\nf = ms.grad(lambda x: (x * x).sum())\n"
        "print(f(ms.Tensor(np.ones(3, np.float32))).asnumpy().tolist())",
        # the kernel's extension capped MindSpore's idle spin after the cell above
        "import sys\nprint(sys.modules['autograder.mindspore_spin'].tamed)",
        # the modules' lists a warm kernel takes from its factory (warm_app.py) hold torch,
        # and %reset's aggressive mode still unloads a module imported after the start
        "kernel = get_ipython().kernel\nimport tabnanny, torch\n"
        "print(type(kernel).__name__, torch.__file__ in kernel._kernel_modules)\n"
        "get_ipython().reset(new_session=False, aggressive=True)\n"
        "import sys\nprint('tabnanny' in sys.modules, 'torch' in sys.modules)",
    ]
    factory = KernelFactory.start(["pytorch", "mxnet", "mindspore"], tmp_path / "factory.log")
    try:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        execution = asyncio.run(
            run_notebook(
                nb,
                Scratch(tmp_path / "work", tmp_path / "run"),
                Limits(),
                sandbox=True,
                factory=factory,
            )
        )
    finally:
        factory.close()
    assert execution.problems == []
    outputs = [[(o.output_type, o.get("name"), o.get("text")) for o in c.outputs] for c in nb.cells]
    assert outputs == [[("stream", "stdout", "[2.0, 2.0, 2.0]\n")]] * 3 + [
        [("stream", "stdout", "True\n")],
        [("stream", "stdout", "WarmKernel True\nculling sys module...\nFalse True\n")],
    ]
