"""pmcheck: the checks of the course's exercises, and a learner's self-check of a notebook.

Each question of an exercise is checked in two halves (``question.py``): a probe calls the
learner's function on the inputs of a trial and reports plain data, and a judge computes
the truth from those inputs on its own and compares. A notebook's test cells run both here,
in the learner's kernel; ``grade`` runs only the probe there and judges in its own process.
Hidden tests draw fresh inputs on every run: reading this code does not help to pass them.

This module also holds the one list of the frameworks that the book, the course and the
grader all read; it imports nothing, so any of them can read it cheaply.
"""

#: The frameworks, in the order the book and the course show them, with their names.
FRAMEWORK_NAMES = {"pytorch": "PyTorch", "mxnet": "MXNet", "mindspore": "MindSpore"}
FRAMEWORKS = tuple(FRAMEWORK_NAMES)
#: The module each framework is imported as.
FRAMEWORK_MODULES = {"pytorch": "torch", "mxnet": "mxnet", "mindspore": "mindspore"}
#: What every kernel that runs the checks gets in its environment (the grader's, the
#: learner's ``pmcheck NOTEBOOK``): MindSpore's log lines kept off stderr (nbgrader gives 0
#: points to a test cell that wrote to stderr), and MindSpore running each operation when it
#: is called instead of queueing it for its pipeline threads (the same results; a third of
#: the CPU time on the checks' small tensors, and errors raised at the line that caused them).
KERNEL_ENV = {"GLOG_v": "3", "MS_DEV_LAUNCH_BLOCKING": "1"}


def check(notebook: str, namespace: dict | None = None):
    """Run every public test of ``notebook`` (e.g. ``"tying_mxnet"``) on this kernel's answers.

    The notebook's last cell calls it; see :mod:`pmcheck.selfcheck`.
    """
    from pmcheck.selfcheck import check as run_check

    return run_check(notebook, namespace)
