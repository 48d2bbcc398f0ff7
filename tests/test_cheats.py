"""Can a submission forge a grade from inside its own kernel? A table of cheats, each graded.

Every cheat answers Part B of ``tying`` wrongly (the gradient of one use, w·x) and then tries
to make its test pass anyway: by patching the checks, numpy or IPython, by tracing or
walking frames, by faking modules or import hooks, by forging the probe's data, or by
handing in files that shadow our package. Verdicts are decided in the grading process, so
each must earn 0 on the question it cheats, keep Part A's points (its answer is the
reference), and leave the rest of the batch graded as usual.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from autograder.course import DEFAULT_COURSE, FRAMEWORKS
from autograder.notebooks import with_answers
from helpers.course_fixtures import CourseCopy

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

WRONG = "def tied_weight_grad(w, x):\n    return w * x  # the gradient of one use only\n"


@dataclass(frozen=True)
class Cheat:
    label: str
    code: str  #: put before the wrong answer, in Part B's answer cell
    frameworks: tuple[str, ...] = FRAMEWORKS
    files: tuple[tuple[str, str], ...] = ()  #: handed in beside the notebook
    defines_answer: bool = False  #: the code defines the wrong answer itself

    @property
    def answer(self) -> str:
        code = textwrap.dedent(self.code).strip("\n") + "\n"
        return code if self.defines_answer else code + "\n" + WRONG


NOOP_CHECKS = "def check_tied_grad(*a, **k):\n    pass\ncheck_tied_grad_random = check_tied_grad\n"
NOOP_PROBE = "def probe_cell(*a, **k):\n    pass\n"

CHEATS = [
    Cheat(
        "checks-replaced-by-no-ops",
        """
        from pmcheck import tying
        tying.check_tied_grad = tying.check_tied_grad_random = lambda *a, **k: None
        """,
    ),
    Cheat(
        "helpers-replaced-by-no-ops",
        """
        from pmcheck import common, question, tying
        common.fail = common.expect = lambda *a, **k: None
        question.Question.verdict = lambda self, *a, **k: None
        tying._judge_tied_grad = lambda *a, **k: None
        tying.TIED_GRAD.judge = lambda *a, **k: None
        """,
    ),
    Cheat(
        "fake-modules-in-sys-modules",
        """
        import sys, types
        import pmcheck
        fake = types.ModuleType("pmcheck.tying")
        fake.check_tied_grad = fake.check_tied_grad_random = lambda *a, **k: None
        sys.modules["pmcheck.tying"] = pmcheck.tying = fake
        probing = types.ModuleType("pmcheck.probing")
        probing.probe_cell = lambda *a, **k: None
        sys.modules["pmcheck.probing"] = pmcheck.probing = probing
        """,
    ),
    Cheat(
        "import-hook-in-builtins",
        """
        import builtins
        _real_import = builtins.__import__

        class _Anything:
            def __getattr__(self, name):
                return lambda *a, **k: None

        def _hooked(name, *args, **kwargs):
            if name.startswith("autograder"):
                return _Anything()
            return _real_import(name, *args, **kwargs)

        builtins.__import__ = _hooked
        """,
    ),
    Cheat(
        "input-transformer-rewrites-later-cells",
        """
        def _blank(lines):
            text = "".join(lines)
            return ["pass\\n"] if "check" in text or "probe" in text else lines

        get_ipython().input_transformers_cleanup.append(_blank)
        """,
    ),
    Cheat(
        "pre-run-cell-event",
        """
        def _before(info):
            import pmcheck.tying as tying
            tying.check_tied_grad = tying.check_tied_grad_random = lambda *a, **k: None
            from pmcheck import question
            question.Question.verdict = lambda self, *a, **k: None

        get_ipython().events.register("pre_run_cell", _before)
        """,
    ),
    Cheat(
        "errors-and-error-status-hidden",
        """
        _shell = get_ipython()
        _shell.set_custom_exc((BaseException,), lambda *a, **k: None)
        _shell.showtraceback = lambda *a, **k: None
        """,
    ),
    Cheat(
        "settrace-rewrites-the-checks",
        """
        import sys

        def _tracer(frame, event, arg):
            if frame.f_globals.get("__name__", "").startswith("autograder"):
                np = frame.f_globals.get("np")
                if np is not None:
                    np.isclose = np.allclose = lambda *a, **k: True
                if event == "exception":
                    frame.f_locals.clear()
            return _tracer

        sys.settrace(_tracer)
        """,
    ),
    Cheat(
        "inspect-reaches-the-calling-check",
        """
        import inspect

        def _patch_callers():
            frame = inspect.currentframe()
            while frame is not None:
                module = frame.f_globals
                if module.get("__name__", "").startswith("autograder"):
                    for name in ("fail", "expect"):
                        if name in module:
                            module[name] = lambda *a, **k: None
                    if "np" in module:
                        module["np"].isclose = lambda *a, **k: True
                frame = frame.f_back

        _real_grad = lambda w, x: w * x

        def tied_weight_grad(w, x):
            _patch_callers()
            return _real_grad(w, x)
        """,
        defines_answer=True,
    ),
    Cheat(
        "math-and-numpy-isclose-patched",
        """
        import math
        import numpy
        math.isclose = lambda *a, **k: True
        numpy.isclose = numpy.allclose = lambda *a, **k: True
        """,
    ),
    Cheat(
        "torch-allclose-patched",
        """
        import numpy
        import torch
        torch.allclose = torch.isclose = lambda *a, **k: True
        numpy.isclose = numpy.allclose = lambda *a, **k: True
        """,
        frameworks=("pytorch",),
    ),
    Cheat(
        "forged-probe-data",
        """
        from IPython.display import publish_display_data
        import pmcheck.probing as probing
        _real = probing.probe_cell

        def _forged(nonce, requests, namespace):
            # claim a pass: send data of the right form with a made-up value, for every trial
            import json
            for index in range(len(json.loads(requests))):
                publish_display_data({probing.MIME: {"nonce": nonce, "index": index,
                                                     "data": '{"value":1.0}'}})

        probing.probe_cell = _forged
        for guess in range(100):
            publish_display_data({probing.MIME: {"nonce": f"{guess:032x}", "index": 0,
                                                 "data": '{"value":1.0}'}})
        """,
    ),
    Cheat(
        "files-beside-the-notebook-shadow-our-package",
        "import numpy, torch, autograder, pmcheck",
        frameworks=("pytorch",),
        files=(
            ("pmcheck/__init__.py", ""),
            ("autograder/__init__.py", ""),
            ("pmcheck/tying.py", NOOP_CHECKS),
            ("pmcheck/probing.py", NOOP_PROBE),
            ("numpy.py", "isclose = allclose = lambda *a, **k: True\n"),
            ("torch.py", "allclose = lambda *a, **k: True\n"),
        ),
    ),
]
CASES = [(cheat, framework) for cheat in CHEATS for framework in cheat.frameworks]

#: The one forgery that earns points: Part A without any network, the probe replaced by one
#: that reports a tied network simulated in numpy with the checker's own formulas. The grader
#: can check that the data is right, not that a framework computed it; what the forger must
#: use to get there is flagged (``autograder/review.py``).
SIMULATED_NETWORK = """\
import numpy as np
from pmcheck import probing, tying, wire
from pmcheck.frameworks import get


def _simulated(request):
    spec, rng = request["spec"], np.random.default_rng()
    shapes = [(spec["h"], spec["d"]), (spec["h"], spec["h"]), (spec["h"], spec["h"]), (1, spec["h"])]
    weights = [rng.normal(size=shape) for shape in shapes]
    biases = [rng.normal(size=shape[0]) for shape in shapes]
    weights[2], biases[2] = weights[1], biases[1]
    X = np.asarray(spec["X"])
    first, second = tying.per_use_gradients(weights, biases, X)
    return {
        "length": tying.expected_length(get(request["framework"])),
        "before": [list(s) for s in shapes], "after": [list(s) for s in shapes],
        "weights": weights, "biases": biases, "output": tying._forward(weights, biases, X),
        "same": True, "seen": spec["value"],
        "gradient": first + second if spec["gradient"] else None,
    }


def _forged(nonce, requests, namespace):
    for index, request in enumerate(wire.loads(requests)):
        data = wire.dumps(_simulated(request))
        display({probing.MIME: {"nonce": nonce, "index": index, "data": data}}, raw=True)


probing.probe_cell = _forged


def make_tied_net(d, h):
    raise NotImplementedError
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = CourseCopy(DEFAULT_COURSE, tmp_path_factory.mktemp("cheats") / "course")
    for framework in FRAMEWORKS:
        name = f"tying_{framework}"
        course.submit(
            f"honest-{framework}", "tying", name, course.solution_submission("tying", name)
        )
    for cheat, framework in CASES:
        name = f"tying_{framework}"
        nb = with_answers(
            course.solution_submission("tying", name), {"answer_tied_weight_grad": cheat.answer}
        )
        path = course.submit(f"{cheat.label}-{framework}", "tying", name, nb)
        for relative, text in cheat.files:
            (path.parent / relative).parent.mkdir(parents=True, exist_ok=True)
            (path.parent / relative).write_text(text)
    for framework in FRAMEWORKS:
        name = f"tying_{framework}"
        nb = with_answers(
            course.solution_submission("tying", name), {"answer_make_tied_net": SIMULATED_NETWORK}
        )
        course.submit(f"simulated-network-{framework}", "tying", name, nb)
    return {result.student: result for result in course.grade("tying")}


def test_the_table_covers_every_class_of_cheat():
    """Does every class of the trust issue have a row, each in every framework it applies to?"""
    assert len(CHEATS) == 13
    assert len(CASES) == 11 * len(FRAMEWORKS) + 2


#: The cheats that reach into the machinery (IPython, sys.modules, import hooks, tracing,
#: frames) and so must be flagged for the instructor's review.
FLAGGED = {
    "fake-modules-in-sys-modules",
    "import-hook-in-builtins",
    "input-transformer-rewrites-later-cells",
    "pre-run-cell-event",
    "errors-and-error-status-hidden",
    "settrace-rewrites-the-checks",
    "inspect-reaches-the-calling-check",
    "forged-probe-data",
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_honest_submissions_in_the_batch_get_full_marks(graded, framework):
    result = graded[f"honest-{framework}"]
    assert (result.score, result.problems, result.flags) == (result.max_score, [], [])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_probe_that_reports_a_simulated_network_is_flagged(graded, framework):
    result = graded[f"simulated-network-{framework}"]
    (flag,) = result.flags
    assert "review answer_make_tied_net" in flag, flag
    for what in ("the checker's internals (pmcheck)", "a module's attribute replaced"):
        assert what in flag, flag


@pytest.mark.parametrize(
    "cheat, framework", CASES, ids=[f"{cheat.label}-{framework}" for cheat, framework in CASES]
)
def test_cheat_earns_nothing_on_the_question_it_cheats(graded, cheat, framework):
    result = graded[f"{cheat.label}-{framework}"]
    scores = {q.grade_id: q.score for q in result.questions}
    assert scores == {"tied_layers_are_one_object": 4, "tied_grad_is_sum": 0}, result


@pytest.mark.parametrize(
    "cheat, framework", CASES, ids=[f"{cheat.label}-{framework}" for cheat, framework in CASES]
)
def test_reaching_into_the_machinery_is_flagged_for_review(graded, cheat, framework):
    result = graded[f"{cheat.label}-{framework}"]
    if cheat.label in FLAGGED:
        assert any("review answer_tied_weight_grad" in flag for flag in result.flags), result
    assert not any("answer_make_tied_net" in flag for flag in result.flags)
