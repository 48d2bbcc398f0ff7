"""An IPython extension of the graded kernels: MindSpore's runtime thread sleeps when idle.

MindSpore runs its operations on a thread of its own (``ActorThread_0``). With nothing to
do, that thread calls ``sched_yield`` a few hundred thousand times before it sleeps: about
0.17 s of CPU after every burst of operations, and more while the kernel's own thread
works between operations. A grading machine runs two kernels per two cores, so that is
CPU taken from the other kernel. Measured in a forked child of a process that imported
MindSpore 2.10 (five times twenty forward passes and one gradient of a 4-8-1 network):
156 ms of CPU for 80 ms of wall time as MindSpore ships, and then 196 ms of CPU in the
next idle second; with the spin capped at 100 yields, 88 ms of CPU for 75 ms of wall
time, and 2 ms in the idle second. Capping it at one yield is slower again (105 ms).

The spin count is no setting of MindSpore's: it is a field of each worker of the actor
thread pool, which the pool's exported methods ``SetMinSpinCount``, ``SetMaxSpinCount``
and ``SetSpinCountMinValue`` set. The pool is made at the first operation, so the
extension looks for it after each cell until it has found it, and then unregisters. It
reads one field that no exported function gives, the pool pointer of the static
``ActorMgr`` (its second word), and uses it only if it points to an ``ActorThreadPool``
(its vtable says so), and only on the MindSpore version it was read from. Anything
unexpected leaves MindSpore as it is; no cell ever sees an error of this module.

Loaded with ``--IPKernelApp.extensions=['autograder.mindspore_spin']`` (``kernel.py``).
"""

from __future__ import annotations

import ctypes
import os
import sys

#: Yields before an idle worker sleeps (MindSpore's own count is in the hundreds of thousands).
SPIN_COUNT = 100
#: The MindSpore versions whose ActorMgr layout this module was read from.
KNOWN_VERSIONS = ("2.10.0",)

#: What the extension's last look found: tame's answer (None: nothing to tame yet).
tamed: bool | None = None

_MANAGER = "_ZN9mindspore8ActorMgr8actorMgrE"
_POOL_VTABLE = "_ZTVN9mindspore15ActorThreadPoolE"
_SET_MIN = "_ZN9mindspore10ThreadPool15SetMinSpinCountEi"
_SET_MAX = "_ZN9mindspore10ThreadPool15SetMaxSpinCountEi"
_APPLY_MIN = "_ZN9mindspore10ThreadPool20SetSpinCountMinValueEv"


def tame(spin_count: int = SPIN_COUNT) -> bool | None:
    """Cap the spin of MindSpore's actor threads: True if done, None if not yet possible.

    None also while MindSpore is not imported; False when it never will be possible
    here: another version of MindSpore, or its library not as expected.
    """
    mindspore = sys.modules.get("mindspore")
    if mindspore is None:
        return None
    if getattr(mindspore, "__version__", None) not in KNOWN_VERSIONS:
        return False
    try:
        core = ctypes.CDLL(
            os.path.join(os.path.dirname(mindspore.__file__), "lib", "libmindspore_core.so")
        )
        manager = ctypes.addressof(ctypes.c_char.in_dll(core, _MANAGER))
        # a vtable symbol names the table; objects point two words (offset, typeinfo) into it
        vtable = ctypes.addressof(ctypes.c_char.in_dll(core, _POOL_VTABLE)) + 16
        setters = [getattr(core, name) for name in (_SET_MIN, _SET_MAX, _APPLY_MIN)]
    except (OSError, ValueError, AttributeError):
        return False
    pool = ctypes.c_void_p.from_address(manager + 8).value
    if not pool:
        return None  # no operation has run yet
    if ctypes.c_void_p.from_address(pool).value != vtable:
        return False
    for setter in setters[:2]:
        setter.argtypes, setter.restype = [ctypes.c_void_p, ctypes.c_int], None
        setter(pool, spin_count)
    setters[2].argtypes, setters[2].restype = [ctypes.c_void_p], None
    setters[2](pool)  # the workers take the new count now, a spinning one included
    return True


def load_ipython_extension(shell) -> None:
    def after_cell(result=None) -> None:
        global tamed
        try:
            tamed = tame()
        except Exception:  # noqa: BLE001 -- a learner's cell must never see this module fail
            tamed = False
        if tamed is not None:
            shell.events.unregister("post_run_cell", after_cell)

    shell.events.register("post_run_cell", after_cell)
