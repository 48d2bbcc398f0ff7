"""Can a graded notebook reach what it must not: the course, the network, other students?"""

from __future__ import annotations

import json

import pytest

from autograder.kernel import Limits, sandbox_available
from autograder.notebooks import with_answers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.kernel,
    pytest.mark.skipif(not sandbox_available(), reason="no sandbox can start here"),
]

PROBE = r"""
import json, os, socket
def attempt(action):
    try:
        return repr(action())
    except Exception as error:
        return type(error).__name__
found = {
    "course": attempt(lambda: os.listdir(COURSE)),
    "gradebook": attempt(lambda: open(os.path.join(COURSE, "gradebook.db"), "rb").read(1)),
    "network": attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=3)),
    "write_outside": attempt(lambda: open(os.path.join(COURSE, "x.txt"), "w").write("x")),
    "write_scratch": attempt(lambda: open("scratch.txt", "w").write("x")),
    "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
}
print("FOUND" + json.dumps(found))
def square(x):
    return x * x
"""


def test_submission_sees_only_its_scratch_folder(fixture_course):
    nb = fixture_course.solution_submission("squares", "squares_pytorch")
    probe = f"COURSE = {str(fixture_course.root)!r}\n" + PROBE
    fixture_course.submit(
        "mallory", "squares", "squares_pytorch", with_answers(nb, {"square_answer": probe})
    )
    fixture_course.submit("alice", "squares", "squares_pytorch", nb)
    results = fixture_course.grade("squares", sandbox=True, limits=Limits(cell_timeout=30))
    assert [r.score for r in results] == [3, 3]
    graded = json.loads(
        (
            fixture_course.root
            / "autograded"
            / "mallory"
            / "squares_pytorch"
            / "squares_pytorch.ipynb"
        ).read_text()
    )
    text = "".join(
        "".join(out.get("text", "")) for cell in graded["cells"] for out in cell.get("outputs", [])
    )
    found = json.loads(text.split("FOUND", 1)[1].splitlines()[0])
    assert found["course"] == "FileNotFoundError"  # not in the sandbox's view at all
    assert found["gradebook"] == "FileNotFoundError"
    assert found["network"] in {"OSError", "gaierror", "TimeoutError"}
    assert found["write_outside"] in {"OSError", "PermissionError", "FileNotFoundError"}
    assert found["write_scratch"] == "1"
    assert found["processes"] <= 3  # its own PID namespace: no other kernel in sight
