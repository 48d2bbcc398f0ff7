"""An IPython extension of the graded kernels: MindSpore's runtime thread sleeps when idle.

MindSpore runs its operations on a thread of its own (``ActorThread_0``). With nothing to
do, that thread calls ``sched_yield`` up to 300,000 times before it sleeps, after every
burst of operations and while the kernel's own thread works between operations: about
85 ms of CPU in the first cell of a tying notebook that computes, on a grading machine
that runs two kernels per two cores, CPU taken from the other kernel. Capped at 100
yields, it takes 1-2 ms, and that cell's CPU time falls from 190 ms to 86 ms (a forked
child of a process that imported MindSpore 2.10, the cells of ``tying_mindspore``).
Measured alone (five times twenty forward passes and one gradient of a 4-8-1 network):
156 ms of CPU for 80 ms of wall time as MindSpore ships, and then 196 ms of CPU in the
next idle second; capped, 88 ms of CPU for 75 ms of wall time and 2 ms in the idle
second. Capping it at one yield is slower again (105 ms).

The spin count is no setting of MindSpore's: it is a field of each worker of the actor
thread pool, which the pool's exported methods ``SetMinSpinCount``, ``SetMaxSpinCount``
and ``SetSpinCountMinValue`` set. The pool is made at the first operation, and starts
spinning at once. So, while a cell runs that may use MindSpore (its code names it, or
the namespace holds something of it), a thread of this module looks for the pool every
millisecond, and caps the spin as soon as the pool is there; after each cell the cap is
applied once more (MindSpore sets its own count just after it makes the pool, and one of
the two may come second). Once capped for good, the extension unregisters.

It reads one field that no exported function gives, the pool pointer of the static
``ActorMgr`` (its second word), which MindSpore sets once the pool and its workers are
made, and uses it only if it points to an ``ActorThreadPool`` (its vtable says so), and
only on the MindSpore version it was read from. Anything unexpected leaves MindSpore as
it is; no cell ever sees an error of this module.

Loaded with ``--IPKernelApp.extensions=['autograder.mindspore_spin']`` (``kernel.py``).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import types

#: Yields before an idle worker sleeps (MindSpore's own count is in the hundreds of thousands).
SPIN_COUNT = 100
#: The MindSpore versions whose ActorMgr layout this module was read from.
KNOWN_VERSIONS = ("2.10.0",)
#: How often, and for how long in one cell, the watcher looks for the pool (seconds).
LOOK_EVERY, LOOK_FOR = 0.001, 5.0

#: What the extension's last look found: tame's answer (None: nothing to tame yet).
tamed: bool | None = None

_MANAGER = "_ZN9mindspore8ActorMgr8actorMgrE"
_POOL_VTABLE = "_ZTVN9mindspore15ActorThreadPoolE"
_SET_MIN = "_ZN9mindspore10ThreadPool15SetMinSpinCountEi"
_SET_MAX = "_ZN9mindspore10ThreadPool15SetMaxSpinCountEi"
_APPLY_MIN = "_ZN9mindspore10ThreadPool20SetSpinCountMinValueEv"
#: ThreadPool's field of the maximum spin count (read back from SetMaxSpinCount's code)
_MAX_FIELD = 0xB4


class _Pool:
    """The addresses and functions of MindSpore's actor pool, looked up once."""

    def __init__(self, mindspore: types.ModuleType) -> None:
        core = ctypes.CDLL(
            os.path.join(os.path.dirname(mindspore.__file__), "lib", "libmindspore_core.so")
        )
        self.manager = ctypes.addressof(ctypes.c_char.in_dll(core, _MANAGER))
        # a vtable symbol names the table; objects point two words (offset, typeinfo) into it
        self.vtable = ctypes.addressof(ctypes.c_char.in_dll(core, _POOL_VTABLE)) + 16
        self.set_min, self.set_max, self.apply_min = (
            getattr(core, name) for name in (_SET_MIN, _SET_MAX, _APPLY_MIN)
        )
        for setter in (self.set_min, self.set_max):
            setter.argtypes, setter.restype = [ctypes.c_void_p, ctypes.c_int], None
        self.apply_min.argtypes, self.apply_min.restype = [ctypes.c_void_p], None

    def pointer(self) -> int | None:
        return ctypes.c_void_p.from_address(self.manager + 8).value

    def is_pool(self, pool: int) -> bool:
        return ctypes.c_void_p.from_address(pool).value == self.vtable

    def capped(self, pool: int, spin_count: int) -> bool:
        return ctypes.c_int.from_address(pool + _MAX_FIELD).value == spin_count


_pool: _Pool | None = None


def _find_pool() -> _Pool | bool | None:
    """The pool's handles; None while MindSpore is not imported, False if never here."""
    global _pool
    if _pool is not None:
        return _pool
    mindspore = sys.modules.get("mindspore")
    if mindspore is None:
        return None
    if getattr(mindspore, "__version__", None) not in KNOWN_VERSIONS:
        return False
    try:
        _pool = _Pool(mindspore)
    except (OSError, ValueError, AttributeError):
        return False
    return _pool


def tame(spin_count: int = SPIN_COUNT) -> bool | None:
    """Cap the spin of MindSpore's actor threads: True if done, None if not yet possible.

    None also while MindSpore is not imported; False when it never will be possible
    here: another version of MindSpore, or its library not as expected.
    """
    found = _find_pool()
    if not found:
        return found
    pool = found.pointer()
    if not pool:
        return None  # no operation has run yet
    if not found.is_pool(pool):
        return False
    found.set_min(pool, spin_count)
    found.set_max(pool, spin_count)
    found.apply_min(pool)  # the workers take the new count now, a spinning one included
    # MindSpore sets its own count just after it makes the pool: if it came second, not yet
    return True if found.capped(pool, spin_count) else None


#: A module's own dictionary, and a class's ``__module__``, read past any override.
_MODULE_DICT = types.ModuleType.__dict__["__dict__"].__get__
_CLASS_MODULE = type.__dict__["__module__"].__get__


class _Watcher:
    """While a cell runs that may use MindSpore, caps the spin as soon as the pool exists."""

    def __init__(self, shell) -> None:
        self.shell = shell
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def before(self, info=None) -> None:
        try:
            if "mindspore" not in sys.modules or not self._may_use_mindspore(info):
                return
        except Exception:  # noqa: BLE001 -- a learner's cell must never see this module fail
            return
        self.stop.clear()
        self.thread = threading.Thread(target=self._look, name="mindspore-spin", daemon=True)
        self.thread.start()

    def after(self, result=None) -> None:
        global tamed
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            self.thread = None
        try:
            tamed = tame()
        except Exception:  # noqa: BLE001 -- a learner's cell must never see this module fail
            tamed = False
        if tamed is not None:
            self.shell.events.unregister("pre_run_cell", self.before)
            self.shell.events.unregister("post_run_cell", self.after)

    def _may_use_mindspore(self, info) -> bool:
        """Does the cell name MindSpore, or the namespace hold a module or object of it?

        Runs no code of the learner's: the names are read from the module's and the class's
        own dictionaries (no ``__getattr__``, property or ``__class__`` of theirs is called).
        """
        source = getattr(info, "raw_cell", None)
        if type(source) is str and "mindspore" in source:
            return True
        for value in list(self.shell.user_ns.values()):
            if type(value) is types.ModuleType:
                name = _MODULE_DICT(value).get("__name__")
            else:
                name = _CLASS_MODULE(type(value))
            if type(name) is str and name.startswith("mindspore"):
                return True
        return False

    def _look(self) -> None:
        """Until the pool is capped three times running (MindSpore may set its count last)."""
        capped = 0
        try:
            for _ in range(int(LOOK_FOR / LOOK_EVERY)):
                if self.stop.wait(LOOK_EVERY):
                    return
                done = tame()
                if done is False:
                    return
                capped = capped + 1 if done else 0
                if capped == 3:
                    return
        except Exception:  # noqa: BLE001, S110 -- after the cell, tame is tried again
            pass


def load_ipython_extension(shell) -> None:
    watcher = _Watcher(shell)
    shell.events.register("pre_run_cell", watcher.before)
    shell.events.register("post_run_cell", watcher.after)
