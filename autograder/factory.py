"""The warm kernel factory, ``python -I -m autograder.factory``: frameworks imported once.

Starting a kernel costs seconds of framework imports; grading a notebook costs
milliseconds. The factory imports ipykernel, IPython, numpy and the three frameworks once
(running no tensor operation and no learner code), then forks one child per kernel the
grader asks for. Each child is exactly the launcher of ``sandbox.py`` -- same sandbox,
same limits -- except that its kernel process starts ipykernel in itself instead of
exec'ing a new Python. It is discarded when its notebook is done: nothing survives from
one submission to the next, and every child starts from the factory's untouched state.

The grader talks to the factory over a SOCK_SEQPACKET socket pair (fd ``--socket-fd``), one
JSON message per packet:

* factory -> grader, once: ``{"ready": true, "pid": P}`` or ``{"error": "why"}``;
* grader -> factory: ``{"job": N, "argv": [launcher arguments]}`` with the launcher's
  channel socket attached (SCM_RIGHTS); factory -> grader: ``{"job": N, "pid": P}`` or
  ``{"job": N, "error": "why"}``;
* factory -> grader, when a child exits: ``{"exited": P, "status": wait status}``.

The factory exits when the grader closes its end, and its children die with it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import select
import signal
import socket
import sys

#: Modules every warm kernel finds imported; the frameworks are asked for by name.
BASE_MODULES = (
    "numpy",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    # what the kernel would import as it starts (debugpy alone takes 0.1 s)
    "ipykernel.debugger",
    "tornado.gen",
    "tornado.locks",
    "tornado.queues",
    "IPython",
    # and what the kernel imports while it initializes
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "faulthandler",
    "tornado.platform.asyncio",
    "pmcheck.probing",
    "pmcheck.access",
    "pmcheck.initialization",
    "pmcheck.tying",
    "pmcheck.deferred",
    "pmcheck.calls",
)
FRAMEWORK_MODULES = {"pytorch": ("torch",), "mxnet": ("mxnet",), "mindspore": ("mindspore",)}
MAX_MESSAGE = 1 << 16


def preload(frameworks: list[str]) -> None:
    """Import everything a kernel needs, touching no tensor: a framework missing raises."""
    import numpy

    numpy.bool = bool  # MXNet 1.9.1 still uses np.bool, removed in numpy 1.24
    import importlib

    for name in BASE_MODULES:
        importlib.import_module(name)
    for framework in frameworks:
        for name in FRAMEWORK_MODULES[framework]:
            importlib.import_module(name)
    if "mxnet" in sys.modules:
        # The factory runs MXNet on its naive engine (MXNET_ENGINE_TYPE), which has no
        # threads of its own, so that a forked kernel is single-threaded. Making the engine
        # here, rather than at a kernel's first operation, keeps MXNet's line announcing it
        # out of the learner's cells.
        sys.modules["mxnet"].nd.waitall()


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def serve(sock: socket.socket) -> None:
    """Answer the grader's jobs until it closes its end."""
    children: set[int] = set()
    # A child's exit must be reported at once: the grader waits for it after each notebook.
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        _reap(sock, children)
        ready, _, _ = select.select([sock, wake_read], [], [], 5.0)
        if wake_read in ready:
            while True:
                try:
                    if not os.read(wake_read, 512):
                        break
                except BlockingIOError:
                    break
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4)
        except InterruptedError:
            continue
        if not data:
            break
        try:
            job = json.loads(data)
            pid = _fork_child(sock, job["argv"], fds)
        except Exception as error:  # noqa: BLE001 -- a bad job is that job's error only
            send(sock, {"job": _job_id(data), "error": f"{type(error).__name__}: {error}"})
        else:
            children.add(pid)
            send(sock, {"job": job["job"], "pid": pid})
        finally:
            for fd in fds:
                os.close(fd)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _job_id(data: bytes) -> int | None:
    try:
        return json.loads(data).get("job")
    except (ValueError, AttributeError):
        return None


def _fork_child(sock: socket.socket, argv: list[str], fds: list[int]) -> int:
    if not (isinstance(argv, list) and all(isinstance(arg, str) for arg in argv)):
        raise ValueError("argv must be a list of strings")
    if len(fds) != 1:
        raise ValueError("a job brings exactly one channel socket")
    channel = fds[0]
    pid = os.fork()
    if pid:
        return pid
    # The child: nothing of the factory's conversation with the grader may reach a kernel.
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        kept = os.dup2(channel, 3) if channel != 3 else 3
        os.closerange(4, 1 << 16)
        del sock
        argv = _with_channel(argv, kept)
        from autograder import sandbox

        sandbox.main(argv, warm=True)
    finally:
        os._exit(sandbox_failed())
    return 0  # not reached


def _with_channel(argv: list[str], fd: int) -> list[str]:
    at = argv.index("--")
    return [*argv[:at], "--channel-fd", str(fd), *argv[at:]]


def sandbox_failed() -> int:
    from autograder.sandbox import SANDBOX_FAILED

    return SANDBOX_FAILED


def _reap(sock: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        try:
            send(sock, {"exited": pid, "status": status})
        except OSError:
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -I -m autograder.factory", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--socket-fd", type=int, required=True)
    parser.add_argument("--frameworks", default="pytorch,mxnet,mindspore")
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.socket_fd)
    try:
        from autograder.sandbox import PR_SET_PDEATHSIG, prctl

        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # and so, in turn, every child
        preload([name for name in args.frameworks.split(",") if name])
        if threads() != 1:
            # fork copies only the calling thread; others may hold locks the child needs
            raise RuntimeError(
                f"{threads()} threads run after the imports; forking would " "not be safe"
            )
        gc.collect()
        gc.freeze()  # the children's garbage collections leave the factory's pages shared
    except Exception as error:  # noqa: BLE001 -- the grader falls back to cold kernels
        send(sock, {"error": f"{type(error).__name__}: {error}"})
        sys.exit(1)
    send(sock, {"ready": True, "pid": os.getpid()})
    serve(sock)


if __name__ == "__main__":
    main()
