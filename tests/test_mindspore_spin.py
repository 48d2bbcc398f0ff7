"""Does MindSpore's actor thread sleep when idle once tamed, and still compute after it?

autograder/mindspore_spin.py caps the spin of MindSpore's worker threads in graded kernels
(it reads one field of MindSpore's own layout). Here a fresh interpreter runs operations,
watches the actor threads' CPU time through one idle second as MindSpore ships and then
tamed, and checks the results before and after each idle second. Another one runs its
first operations in a "cell" watched by the extension, as a kernel does, and its actor
thread is capped while the cell runs, not only after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMON = """
import json, os, time, types
import numpy as np
import mindspore as ms
from mindspore import nn
from autograder import mindspore_spin

def actor_cpu():
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if not f.read().startswith("ActorThread"):
                    continue
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            continue
    return total / 1e9

def right():
    net = nn.Dense(4, 1)
    x = np.arange(32, dtype=np.float32).reshape(8, 4)
    for _ in range(20):
        y = net(ms.Tensor(x)).asnumpy()
    return bool(np.allclose(y, x @ net.weight.asnumpy().T + net.bias.asnumpy(), atol=1e-5))

def idle():
    start = actor_cpu()
    time.sleep(1.0)
    return actor_cpu() - start
"""

AS_SHIPPED_THEN_TAMED = """
report = {"before_any_operation": mindspore_spin.tame(), "right": [right()]}
report["idle_as_shipped"] = idle()
report["right"].append(right())
report["tame"] = mindspore_spin.tame()
report["right"].append(right())
report["idle_tamed"] = idle()
report["right"].append(right())
print(json.dumps(report))
"""

IN_A_CELL = """
class Events:
    def register(self, event, callback):
        setattr(self, event, callback)

    def unregister(self, event, callback):
        setattr(self, event, None)

shell = types.SimpleNamespace(user_ns={"ms": ms}, events=Events())
mindspore_spin.load_ipython_extension(shell)
shell.events.pre_run_cell(types.SimpleNamespace(raw_cell="net = nn.Dense(4, 1)"))
correct = [right() for _ in range(5)]  # the cell: the pool is made at its first operation
during = actor_cpu()
shell.events.post_run_cell(None)
print(json.dumps({"right": correct, "during": during, "tamed": mindspore_spin.tamed,
                  "unregistered": shell.events.post_run_cell is None}))
"""


def probe(code: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(COMMON) + textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, "GLOG_v": "3"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_tamed_actor_thread_sleeps_when_idle_and_still_computes():
    report = probe(AS_SHIPPED_THEN_TAMED)
    assert report["before_any_operation"] is None  # no thread pool until the first operation
    assert report["tame"] is True
    assert report["right"] == [True] * 4
    # As shipped, the thread yields for tens of milliseconds of CPU after a burst; tamed,
    # it sleeps within a hundred yields.
    assert report["idle_as_shipped"] > 0.02, report
    assert report["idle_tamed"] < 0.005, report


def test_the_extension_caps_the_spin_while_the_first_operations_run():
    report = probe(IN_A_CELL)
    assert report["right"] == [True] * 5
    assert report["tamed"] is True and report["unregistered"]
    # As shipped, the actor thread spins for tens of milliseconds of CPU in such a cell.
    assert report["during"] < 0.01, report


def test_another_version_of_mindspore_is_left_alone(monkeypatch):
    import types

    from autograder import mindspore_spin

    monkeypatch.setitem(sys.modules, "mindspore", types.SimpleNamespace(__version__="9.9.9"))
    assert mindspore_spin.tame() is False
    monkeypatch.delitem(sys.modules, "mindspore")
    assert mindspore_spin.tame() is None
