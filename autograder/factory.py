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

With ``--listen PATH`` it is the kernel service (``autograder factory start``, see
``service.py``): it outlives the grading run that started it, and every later ``grade`` of
the same user and the same code connects to PATH instead of importing the frameworks
again. Each connection is one such conversation, opened by the ready message; the
kernels a connection asked for die when it closes. Nothing else is shared: each kernel is
still a fresh fork of the untouched factory. It answers only peers of its own uid, in a
folder only that uid may enter, and exits after ``--idle`` seconds with no connection.
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
import time

from autograder.service import peer_credentials

#: Modules every warm kernel finds imported; the frameworks are asked for by name.
BASE_MODULES = (
    "numpy",
    "ipykernel.kernelapp",
    "autograder.warm_app",
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
    "autograder.mindspore_spin",
    "autograder.output_pieces",
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


MADV_COLLAPSE = 25
HUGE_PAGE = 2 << 20


def collapse_heap() -> int:
    """Back the factory's private heap with huge pages where the kernel can; bytes done.

    Every kernel costs three forks of this process (launcher, sandbox init, kernel) and
    three exits, and each copies, then frees, one page-table entry per 4 KiB page of the
    heap the imports left behind (well over 100 MiB). In 2 MiB pages that is 512 times
    fewer entries: a fork and exit here took 7 ms with 4 KiB pages and 3.3 ms with huge
    ones (PyTorch factory: 11.4 and 3.7 ms on a busy machine). A child's first write to a
    huge page splits it and copies only the 4 KiB page written.
    MADV_COLLAPSE needs Linux 6.1; elsewhere, or where huge pages are off, nothing
    changes.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    done = 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        low, high = (int(bound, 16) for bound in fields[0].split("-"))
        anonymous = len(fields) < 6 or fields[5] == "[heap]"
        if fields[1].startswith("rw") and anonymous and high - low >= HUGE_PAGE:
            # only what is there now: later allocations keep the usual 4 KiB pages
            if libc.madvise(low, high - low, MADV_COLLAPSE) == 0:
                done += high - low
    return done


def send(sock: socket.socket, message: dict, fds: list[int] | None = None, flags: int = 0) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds, flags)
    else:
        sock.send(data, flags)


class _Conversation:
    """One grader's connection: the jobs it asked for, and the children they became."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.children: set[int] = set()
        self.stalled = False  # it stopped reading what we tell it: see _say


def serve(
    sock: socket.socket | None,
    listener: socket.socket | None = None,
    idle: float | None = None,
) -> None:
    """Answer the graders' jobs: ``sock``'s until it closes, or each connection to ``listener``.

    A listening factory (the kernel service, ``autograder factory start``) talks to any
    number of graders of its own user, one after the other or at once; it exits after
    ``idle`` seconds without a connection or a child, or when asked to ``stop``. A
    conversation that ends takes its children with it.
    """
    talks: dict[int, _Conversation] = {}
    if sock is not None:
        talks[sock.fileno()] = _Conversation(sock)
    owners: dict[int, _Conversation] = {}  #: child pid -> the conversation that asked for it
    # A child's exit must be reported at once: the grader waits for it after each notebook.
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    quiet_since = time.monotonic()
    while True:
        _reap(owners)
        if talks or owners:
            quiet_since = time.monotonic()
        elif listener is None or (idle is not None and time.monotonic() - quiet_since > idle):
            break
        waiting = [wake_read, *(talk.sock for talk in talks.values())]
        if listener is not None:
            waiting.append(listener)
        ready, _, _ = select.select(waiting, [], [], min(5.0, idle or 5.0))
        if wake_read in ready:
            _drain(wake_read)
        if listener is not None and listener in ready:
            talk = _accept(listener)
            if talk is not None:
                talks[talk.sock.fileno()] = talk
        for talk in [t for t in talks.values() if t.sock in ready]:
            try:
                data, fds, _, _ = socket.recv_fds(talk.sock, MAX_MESSAGE, 4)
            except InterruptedError:
                continue
            except OSError:
                data, fds = b"", []
            if not data:
                del talks[talk.sock.fileno()]
                _end(talk, owners)
                continue
            if _answer(talk, data, fds, owners) == "stop":
                for other in talks.values():
                    _end(other, owners)
                return
        for talk in [t for t in talks.values() if t.stalled]:
            del talks[talk.sock.fileno()]
            _end(talk, owners)
    for talk in talks.values():
        _end(talk, owners)


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 512):
                return
        except BlockingIOError:
            return


def _accept(listener: socket.socket) -> _Conversation | None:
    """A new grader's connection, if it runs as our user; it is told we are ready."""
    try:
        conn, _ = listener.accept()
    except OSError:
        return None
    _, uid, _ = peer_credentials(conn)
    if uid != os.getuid():  # the folder is ours alone; this is the second lock
        conn.close()
        return None
    try:
        send(conn, {"ready": True, "pid": os.getpid()})
    except OSError:
        conn.close()
        return None
    return _Conversation(conn)


def _answer(talk: _Conversation, data: bytes, fds: list[int], owners: dict) -> str | None:
    try:
        job = json.loads(data)
        if isinstance(job, dict) and job.get("stop"):
            return "stop"
        pid = _fork_child(job["argv"], fds)
    except Exception as error:  # noqa: BLE001 -- a bad job is that job's error only
        _say(talk, {"job": _job_id(data), "error": f"{type(error).__name__}: {error}"})
    else:
        talk.children.add(pid)
        owners[pid] = talk
        _say(talk, {"job": job["job"], "pid": pid})
    finally:
        for fd in fds:
            os.close(fd)
    return None


def _say(talk: _Conversation, message: dict) -> None:
    """Tell a grader something, without ever waiting for it.

    One factory serves every grader of the service, so a grader that stops reading (stopped
    with Ctrl-Z, say) must not stop the others: a message that does not fit in its socket's
    queue (hundreds of unread messages, where a grader has a few jobs in flight) ends its
    conversation, which takes its kernels with it. The grader, if it wakes, sees its
    connection closed and grades what was in flight on factories of its own.
    """
    try:
        send(talk.sock, message, flags=socket.MSG_DONTWAIT)
    except BlockingIOError:
        talk.stalled = True
    except OSError:  # the grader is gone; its end of the socket tells the loop
        pass


def _end(talk: _Conversation, owners: dict) -> None:
    """A grader is done or gone: so are the kernels it asked for."""
    talk.sock.close()
    for pid in talk.children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    talk.children.clear()


def _job_id(data: bytes) -> int | None:
    try:
        return json.loads(data).get("job")
    except (ValueError, AttributeError):
        return None


def _fork_child(argv: list[str], fds: list[int]) -> int:
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
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        kept = os.dup2(channel, 3) if channel != 3 else 3
        os.closerange(4, 1 << 16)  # every grader's socket, and the listening one
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


def _reap(owners: dict[int, _Conversation]) -> None:
    while owners:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        talk = owners.pop(pid, None)
        if talk is not None and pid in talk.children:
            talk.children.discard(pid)
            _say(talk, {"exited": pid, "status": status})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -I -m autograder.factory", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--socket-fd", type=int, required=True)
    parser.add_argument("--frameworks", default="pytorch,mxnet,mindspore")
    parser.add_argument(
        "--listen", help="serve every grader of this user at this unix socket (the service)"
    )
    parser.add_argument("--idle", type=float, help="with --listen: seconds idle before exiting")
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.socket_fd)
    listener = None
    try:
        if args.listen:
            # bound first: a second service for the same socket stops here, at once
            listener = _listen(args.listen)
        else:
            from autograder.sandbox import PR_SET_PDEATHSIG, prctl

            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # and so, in turn, every child
        preload([name for name in args.frameworks.split(",") if name])
        if threads() != 1:
            # fork copies only the calling thread; others may hold locks the child needs
            raise RuntimeError(
                f"{threads()} threads run after the imports; forking would " "not be safe"
            )
        from autograder.warm_app import remember_modules  # imported by preload

        remember_modules()  # for each kernel's debugger, read once here (warm_app.py)
        gc.collect()
        gc.freeze()  # the children's garbage collections leave the factory's pages shared
        collapse_heap()
    except Exception as error:  # noqa: BLE001 -- the grader falls back to cold kernels
        send(sock, {"error": f"{type(error).__name__}: {error}"})
        if listener is not None:
            _unlisten(listener, args.listen)
        sys.exit(1)
    send(sock, {"ready": True, "pid": os.getpid()})
    if listener is None:
        serve(sock)
        return
    sock.close()  # the one who started the service has its answer
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(None, listener[0], args.idle)
    finally:
        _unlisten(listener, args.listen)


def _listen(path: str) -> tuple[socket.socket, int]:
    """The service's socket, and the inode of its file (to remove that file only)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)  # EADDRINUSE while the file is there: its owner cleans it first
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener, os.stat(path).st_ino


def _unlisten(listener: tuple[socket.socket, int], path: str) -> None:
    """Remove the socket file, unless another service has bound that path since."""
    sock, inode = listener
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
    except OSError:
        pass
    sock.close()


if __name__ == "__main__":
    main()
