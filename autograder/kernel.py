"""The one seam every graded notebook runs through: a kernel launcher with limits and a sandbox."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import queue
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pmcheck import KERNEL_ENV

from .sandbox import HOME, KERNEL_IP, PORT_NAMES, PROBE_SOCKET, SANDBOX_FAILED, WORK

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

__all__ = [
    "HOME",
    "SANDBOX_FAILED",
    "WORK",
    "FactoryError",
    "FactoryLost",
    "GiB",
    "KernelFactory",
    "Limits",
    "MiB",
    "Scratch",
    "kernel_manager",
    "launcher_argv",
    "sandbox_available",
    "sandbox_problem",
]

MiB = 1 << 20
GiB = 1 << 30
#: Seconds a sandboxed kernel may take to start and answer its first request.
STARTUP_TIMEOUT = 120


@dataclass(frozen=True)
class Limits:
    """What one graded notebook may use; the defaults fit the course's notebooks."""

    cpu_seconds: int = 600  #: CPU time of the kernel, all threads together
    memory_bytes: int = 8 * GiB  #: address space (frameworks reserve much more than they touch)
    processes: int = 256  #: new processes and threads, beyond those the user already runs
    file_size_bytes: int = 64 * MiB  #: largest file the kernel may write
    cell_timeout: float = 120  #: seconds one cell may run before it is interrupted
    notebook_timeout: float = 900  #: seconds the whole notebook may take
    output_bytes: int = 4 * MiB  #: output kept per notebook; more interrupts the cell
    threads: int = 1  #: math-library threads per kernel (workers already run in parallel)
    #: all a sandboxed kernel may write (/tmp, /dev/shm, /run, home), held in memory
    scratch_bytes: int = 256 * MiB


@dataclass(frozen=True)
class Scratch:
    """The folders of one kernel: ``work`` holds its files, ``run`` its sockets and its log.

    Unsandboxed, ``work`` is the kernel's cwd. Sandboxed, the regular files below ``work``
    (at most ``Limits.scratch_bytes``, no symlinks) are copied into the kernel's cwd,
    ``/home/learner/work``, when it starts, and ``run`` also holds the sandbox's mount
    point. ``hidden`` is ignored and will go: the sandbox shows nothing of the host but
    the system and the Python, so there is nothing left to hide.
    """

    work: Path
    run: Path
    hidden: tuple[Path, ...] = field(default=())

    @property
    def log(self) -> Path:
        return self.run / "kernel.log"

    def log_tail(self, lines: int = 3) -> str:
        """The last lines the kernel process wrote outside of Jupyter's channels."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def sandbox_available() -> bool:
    """Whether a sandboxed kernel can start on this machine (see ``sandbox_problem``)."""
    return sandbox_problem() is None


@cache
def sandbox_problem() -> str | None:
    """Why no sandbox can start here, or None: it tries one, with a tiny probe for a kernel."""
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as tmp:
        scratch = Scratch(work=Path(tmp) / "work", run=Path(tmp) / "run")
        try:
            _probe(scratch)
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            tail = scratch.log_tail(1)
            return f"{error}" + (f" ({tail})" if tail and tail not in str(error) else "")
    return None


def _probe(scratch: Scratch) -> None:
    for folder in (scratch.work, scratch.run):
        folder.mkdir(parents=True, exist_ok=True)
    ours, theirs = socket.socketpair()
    argv = launcher_argv(scratch, Limits(), sandbox=True, probe=True, channel_fd=theirs.fileno())
    process = subprocess.Popen(
        argv,
        cwd=scratch.run,
        env=_launcher_env(),
        stdin=subprocess.DEVNULL,
        pass_fds=(theirs.fileno(),),
        start_new_session=True,
    )
    theirs.close()
    try:
        ours.settimeout(30)
        _expect_line(ours, "up")
        with _connect_inside(process.pid, PROBE_SOCKET, timeout=30) as peer:
            if peer.recv(1) != b"1":
                raise RuntimeError("the probe inside the sandbox did not answer")
            ours.sendall(b"seal\n")
            _expect_line(ours, "sealed")
        if process.wait(timeout=30) != 0:
            raise RuntimeError(f"the sandbox exited with status {process.returncode}")
    finally:
        ours.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def _expect_line(channel: socket.socket, word: str) -> None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = channel.recv(256)
        if not chunk:
            raise RuntimeError("the sandbox stopped while starting")
        data += chunk
    line = data.decode(errors="replace").strip()
    if line != word:
        raise RuntimeError(f"the sandbox said {line!r}, not {word!r}")


def _connect_inside(pid: int, path: str, timeout: float) -> socket.socket:
    """Connect to the unix socket at ``path`` inside the sandbox of launcher ``pid``."""
    deadline = time.monotonic() + timeout
    while True:
        peer = socket.socket(socket.AF_UNIX)
        try:
            peer.connect(f"/proc/{pid}/root{path}")
            peer.settimeout(timeout)
            return peer
        except OSError:
            peer.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def launcher_argv(
    scratch: Scratch,
    limits: Limits,
    *,
    sandbox: bool,
    probe: bool = False,
    channel_fd: int | None = None,
) -> list[str]:
    """The launcher's command, ending in the kernel's ``-- -f {connection_file}``.

    ``probe`` starts a sandbox with a tiny stand-in for the kernel (see ``sandbox_problem``).
    """
    # -I: nothing from the environment or the cwd may change what the launcher imports
    argv = [
        sys.executable,
        "-I",
        "-m",
        "autograder.sandbox",
        "--cpu-seconds",
        str(limits.cpu_seconds),
        "--memory-bytes",
        str(limits.memory_bytes),
        "--processes",
        str(limits.processes),
        "--file-size-bytes",
        str(limits.file_size_bytes),
        "--log",
        str(scratch.log),
    ]
    if sandbox:
        argv += [
            "--probe" if probe else "--sandbox",
            "--work",
            str(scratch.work),
            "--run",
            str(scratch.run),
            "--scratch-bytes",
            str(limits.scratch_bytes),
            "--threads",
            str(limits.threads),
        ]
    if channel_fd is not None:
        argv += ["--channel-fd", str(channel_fd)]
    # No history database: a graded kernel runs once, and IPython's database costs each
    # kernel a SQLite file and a thread of its own. MindSpore's runtime thread sleeps when
    # idle instead of spinning (mindspore_spin.py); printed output leaves in messages the
    # grader takes (output_pieces.py).
    return argv + [
        "--",
        "-f",
        "{connection_file}",
        "--HistoryManager.enabled=False",
        "--IPKernelApp.extensions=['autograder.mindspore_spin','autograder.output_pieces']",
    ]


def _launcher_env() -> dict[str, str]:
    """The launcher's environment: none of the grader's secrets ever enter the sandbox."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **KERNEL_ENV}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def factory_env() -> dict[str, str]:
    """The environment a kernel factory runs in, the service's or a grader's own."""
    return dict(
        _launcher_env(),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MXNET_ENGINE_TYPE="NaiveEngine",
        MPLBACKEND="Agg",
    )


class FactoryLost(RuntimeError):
    """The kernel factory is gone (it died or was killed): its kernels with it."""


class FactoryError(RuntimeError):
    """The kernel factory could not start, or refused a job; the message says why."""


class KernelFactory:
    """The grader's handle on one warm kernel factory (``autograder/factory.py``).

    ``launch`` asks it for a sandboxed kernel and returns a Popen-like handle on the
    launcher it forked; the factory reports each launcher's exit, which the handles read
    from the same socket (``pump``). Everything runs in the grader's event-loop thread.
    ``process`` is None for a connection to the kernel service (``service.connect``),
    which is no child of ours.
    """

    def __init__(self, process: subprocess.Popen | None, sock: socket.socket) -> None:
        self.process = process
        self.sock = sock
        self.peer: int | None = None  #: the service's pid, from the socket's credentials
        self.alive = True
        self._jobs = 0
        self._waiters: dict[int, asyncio.Future] = {}  #: job -> its reply, once it comes
        self._children: dict[int, FactoryProcess] = {}

    @classmethod
    def start(
        cls,
        frameworks: list[str],
        log: Path,
        timeout: float = STARTUP_TIMEOUT,
    ) -> KernelFactory:
        """Start a factory that preloads ``frameworks``; FactoryError if it cannot."""
        factory = cls.spawn(frameworks, log)
        factory.wait_ready(timeout)
        return factory

    @classmethod
    def spawn(
        cls,
        frameworks: list[str],
        log: Path,
        *,
        listen: Path | None = None,
        idle: float | None = None,
    ) -> KernelFactory:
        """Start a factory and return at once; ``wait_ready`` before the first ``launch``.

        With ``listen``, it is the kernel service (``service.start``): it serves every
        grader that connects to that socket, and ``wait_ready`` only says it is up.
        """
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [
            sys.executable,
            "-I",
            "-m",
            "autograder.factory",
            "--socket-fd",
            str(theirs.fileno()),
            "--frameworks",
            ",".join(frameworks),
        ]
        if listen is not None:
            argv += ["--listen", str(listen)]
            argv += ["--idle", str(idle)] if idle is not None else []
        with open(log, "ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=log.parent,
                env=factory_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        theirs.close()
        return cls(process, ours)

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until the factory has imported everything; FactoryError if it cannot."""
        try:
            hello = self._next(timeout)
        except (FactoryLost, TimeoutError) as error:
            self.close()
            raise FactoryError(f"the kernel factory did not start: {error}") from None
        if not hello.get("ready"):
            self.close()
            raise FactoryError(
                f"the kernel factory could not start: " f"{hello.get('error', 'no reason given')}"
            )

    async def launch(self, argv: list[str], channel_fd: int) -> FactoryProcess:
        """Have the factory fork a launcher running ``python -m autograder.sandbox argv``."""
        if not self.alive:
            raise FactoryLost("the kernel factory is gone")
        self._jobs += 1
        job = self._jobs
        loop = asyncio.get_running_loop()
        waiter = self._waiters[job] = loop.create_future()
        if len(self._waiters) == 1:
            loop.add_reader(self.sock, self.pump)
        try:
            socket.send_fds(
                self.sock, [json.dumps({"job": job, "argv": argv}).encode()], [channel_fd]
            )
            reply = await asyncio.wait_for(waiter, STARTUP_TIMEOUT)
        except OSError:
            self._lose()
            raise FactoryLost("the kernel factory is gone") from None
        except TimeoutError:
            raise FactoryError("the kernel factory did not answer in time") from None
        finally:
            self._waiters.pop(job, None)
            if not self._waiters and self.alive:
                loop.remove_reader(self.sock)
        if "pid" not in reply:
            raise FactoryError(f"the kernel factory refused the kernel: {reply.get('error')}")
        pid = int(reply["pid"])
        if self.peer is not None and _parent_of(pid) != self.peer:
            # a pid we will signal later: only one the service itself forked
            raise FactoryError(f"the kernel service named pid {pid}, which is not its child")
        child = FactoryProcess(self, pid)
        self._children[child.pid] = child
        return child

    def gone(self) -> bool:
        """Whether the factory has died (or been closed)."""
        if self.alive and self.process is None:
            self.pump(0)  # the service's end of the socket closes when it dies
        elif self.alive and self.process.poll() is not None:
            self._lose()
        return not self.alive

    def pump(self, timeout: float = 0.0) -> None:
        """Read what the factory said (waiting up to ``timeout`` for the first message)."""
        while self.alive:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                return
            timeout = 0.0
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                self._lose()
                return
            self._dispatch(json.loads(data))

    def _next(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no word from it in {timeout:g} s")
        try:
            data = self.sock.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            if self.process is None:
                raise FactoryLost("the kernel service closed the connection")
            raise FactoryLost(f"it exited with status {self.process.wait()}")
        return json.loads(data)

    def _dispatch(self, message: dict) -> None:
        if "exited" in message:
            child = self._children.pop(int(message["exited"]), None)
            if child is not None:
                child.returncode = os.waitstatus_to_exitcode(int(message["status"]))
        elif "job" in message:
            waiter = self._waiters.get(message["job"])
            if waiter is not None and not waiter.done():
                waiter.set_result(message)

    def _lose(self) -> None:
        """The factory is gone, and its launchers with it (they die with their parent)."""
        if self.alive and self._waiters:
            asyncio.get_event_loop().remove_reader(self.sock)
        self.alive = False
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(FactoryLost("the kernel factory died"))
        for child in self._children.values():
            child.lost = True
            if child.returncode is None:
                child.returncode = -signal.SIGKILL
        self._children.clear()

    def close(self) -> None:
        """Stop the factory (its running kernels die with it); or leave the service."""
        self.alive = False
        self.sock.close()
        if self.process is None:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class FactoryProcess:
    """A launcher forked by the factory, with the parts of Popen's interface jupyter_client uses."""

    stdin = stdout = stderr = None

    def __init__(self, factory: KernelFactory, pid: int) -> None:
        self.factory = factory
        self.pid = pid
        self.returncode: int | None = None
        self.lost = False  #: it died because the factory did

    def poll(self) -> int | None:
        if self.returncode is None:
            self.factory.pump(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self.factory.pump(min(left, 1.0))
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def kernel_manager(
    scratch: Scratch,
    limits: Limits,
    *,
    sandbox: bool = False,
    isolate_home: bool = True,
    factory: KernelFactory | None = None,
) -> AsyncKernelManager:
    """A kernel manager that starts the kernel through our launcher, for ``scratch``.

    The kernel command is ``python -I -m autograder.sandbox [limits] -- -f FILE``: the
    launcher (``sandbox.py``) sends the kernel's own stdout/stderr to ``scratch.log``,
    applies ``limits`` and becomes ``ipykernel_launcher`` -- as it is, or with ``sandbox``
    in namespaces of its own: no network, nothing of the host but the system and the
    Python (read-only), one size-capped scratch tmpfs, no capabilities, a seccomp filter.
    A sandboxed kernel works in ``WORK`` (/home/learner/work, a copy of ``scratch.work``
    made as it starts; nothing is copied back) and binds its sockets in its private /run,
    which the manager reaches through ``/proc/<launcher pid>/root/run``.

    ``isolate_home`` (unsandboxed only) points HOME and TMPDIR into ``scratch.run``; a
    sandboxed kernel always has its own /home/learner and /tmp.

    With a ``factory``, the sandboxed launcher is forked from that warm kernel factory
    instead of started as a new Python: the same sandbox, without the framework imports.
    """
    # imported here so that the command line answers fast when it needs no kernel
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class OneSpec(KernelSpecManager):
        """A kernel spec manager that knows exactly one spec: ours."""

        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return spec

    for folder in (scratch.work, scratch.run):
        folder.mkdir(parents=True, exist_ok=True)
    # Interrupts go over the control channel: a signal to the launcher would not reach
    # the kernel in its own session (and, sandboxed, its own pid namespace).
    spec = KernelSpec(
        argv=launcher_argv(scratch, limits, sandbox=sandbox),
        display_name="Python 3 (autograder)",
        language="python",
        interrupt_mode="message",
        env={} if sandbox else _kernel_env(scratch, limits, isolate_home),
    )
    options = {
        "kernel_name": "autograder",
        "kernel_spec_manager": OneSpec(),
        "transport": "ipc",
        "connection_file": str(scratch.run / "connection.json"),
        "client_factory": _client_class(),
    }
    if sandbox:
        return _sandboxed_manager_class()(
            run_dir=str(scratch.run), ip=KERNEL_IP, factory=factory, **options
        )
    return AsyncKernelManager(ip=str(scratch.run / "kernel"), **options)


def _kernel_env(scratch: Scratch, limits: Limits, isolate_home: bool) -> dict[str, str]:
    """What the unsandboxed kernel gets on top of the grader's environment."""
    import site

    env = {
        **KERNEL_ENV,  # MindSpore's: quiet on stderr, and no pipeline threads
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
    }
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(limits.threads)
    if isolate_home:
        # Caches and dot-files land in the scratch folder, not in the grader's home;
        # packages installed with ``pip --user`` stay importable.
        home = scratch.run / "home"
        tmp = scratch.run / "tmp"
        home.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONUSERBASE=site.getuserbase())
    return env


#: jupyter_client.jsonutil.ISO8601_PAT: what it reads as a date
_ISO8601 = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|([\+\-]\d{2}:?\d{2}))?$"
)


def extract_dates(header):
    """The date of a message header, read as jupyter_client reads it, and nothing else.

    jupyter_client's ``extract_dates`` walks the two headers of every message the grader
    receives and parses every string in them that looks like an ISO 8601 date, with
    dateutil. Only the header's own ``date`` is ever read (nbclient's timings); a kernel
    that sends a header of a million date strings costs the grader a second of CPU a
    message that way. Here only ``date`` is parsed, with the standard library's
    ``datetime.fromisoformat`` where it can (the same moment, as ``datetime.timezone``,
    three times faster); anything else goes to jupyter_client's own parser.
    """
    if isinstance(header, dict) and "date" in header:
        header = {**header, "date": _date(header["date"])}
    return header


def _date(value):
    if isinstance(value, str) and _ISO8601.match(value):
        try:
            date = datetime.datetime.fromisoformat(value)
        except ValueError:
            date = None
        if date is None or date.tzinfo is None:  # naive, or no date: theirs warns, or raises
            from jupyter_client.jsonutil import parse_date

            return parse_date(value)
        return date
    return value


#: The largest message part the grader takes from a kernel (four times a notebook's output
#: cap): a larger one ends that connection (zmq's MAXMSGSIZE) and is lost. A kernel that
#: floods IOPub with 31 MB messages held 8.5 GB of the grader's memory after 300 of them.
MESSAGE_BYTES = 16 * MiB
#: IOPub messages the grader queues per kernel before it stops reading (zmq's RCVHWM): the
#: rest waits in the kernel's queue (1000 more), so honest bursts of output lose nothing.
IOPUB_QUEUE = 64


@cache
def _client_class() -> type:
    """A kernel client that is ready as soon as the kernel has answered on shell and IOPub.

    jupyter_client's own ``wait_for_ready`` then also waits for 0.2 s of silence on IOPub:
    a fifth of a second per graded notebook, for messages nbclient ignores anyway.
    A sandboxed kernel's /run is sealed then, before the client is ready (the provisioner's
    ``seal``): no cell can run before.

    Made once per process, which is also when jupyter_client's sessions start reading
    message dates with ``extract_dates`` above.
    """
    import jupyter_client.session
    from jupyter_client.asynchronous import AsyncKernelClient

    jupyter_client.session.extract_dates = extract_dates

    class ReadyClient(AsyncKernelClient):
        async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (STARTUP_TIMEOUT if timeout is None else timeout)
            while time.monotonic() < deadline:
                request = self.kernel_info()
                try:
                    reply = await self.get_shell_msg(timeout=1)
                except queue.Empty:
                    if not await self._async_is_alive():
                        raise RuntimeError("Kernel died before replying to kernel_info") from None
                    continue
                if reply.get("parent_header", {}).get("msg_id") != request:
                    continue
                # The kernel publishes its status for every request: once one for ours
                # arrives, IOPub is subscribed and no output of the notebook can be lost.
                try:
                    while True:
                        message = await self.get_iopub_msg(timeout=0.05)
                        if message.get("parent_header", {}).get("msg_id") == request:
                            break
                except queue.Empty:
                    continue
                seal = getattr(getattr(self.parent, "provisioner", None), "seal", None)
                if seal is not None:
                    await seal()  # the kernel has bound its sockets: it answered on both
                self._handle_kernel_info_reply(reply)
                return
            raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

        wait_for_ready = _async_wait_for_ready  # the base class binds its own at import

        def _create_connected_socket(self, channel: str, identity: bytes | None = None):
            # Options set before the socket connects: what a kernel sends past them waits
            # in the kernel's own memory, or is lost, instead of in the grader's.
            import zmq

            self.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_BYTES)
            if channel == "iopub":
                self.context.setsockopt(zmq.RCVHWM, IOPUB_QUEUE)
            try:
                return super()._create_connected_socket(channel, identity)
            finally:
                self.context.sockopts.pop(zmq.RCVHWM, None)  # the others keep zmq's default

    return ReadyClient


@cache
def _sandboxed_manager_class() -> type[AsyncKernelManager]:
    """The manager and provisioner classes, made on first use (jupyter_client is slow to load)."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner
    from traitlets import Any, Unicode

    class SandboxProvisioner(LocalProvisioner):
        """Starts the launcher and connects to the kernel inside through /proc/PID/root.

        The kernel gets a connection file of ours whose ip is the path inside
        (``/run/kernel``); the manager and its clients get the same ports with the ip
        ``/proc/<launcher pid>/root/run/kernel``. Over a socket pair the launcher says
        when the sandbox is up, and seals /run (``seal``) once the kernel has answered
        its first client, before any of the learner's code can run.
        """

        channel: socket.socket | None = None

        async def pre_launch(self, **kwargs):
            km = self.parent
            km.ip = KERNEL_IP
            for port, name in enumerate(PORT_NAMES, start=1):  # the sandbox's /run is empty
                setattr(km, name, port)
            kwargs = await super().pre_launch(**kwargs)
            inside = Path(km.run_dir) / "kernel-connection.json"
            info = dict(self.connection_info, key=self.connection_info["key"].decode())
            inside.unlink(missing_ok=True)
            fd = os.open(inside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(info, handle)
            kwargs["cmd"] = [
                str(inside) if arg == km.connection_file else arg for arg in kwargs["cmd"]
            ]
            kwargs["env"] = _launcher_env()
            kwargs["cwd"] = km.run_dir  # never the learner's folder
            return kwargs

        async def launch_kernel(self, cmd, **kwargs):
            ours, theirs = socket.socketpair()
            try:
                await self._spawn(cmd, theirs.fileno(), **kwargs)
            finally:
                theirs.close()
            ours.setblocking(False)
            self.channel = ours
            await self._expect("up")
            self.connection_info = dict(
                self.connection_info, ip=f"/proc/{self.pid}/root{KERNEL_IP}"
            )
            return self.connection_info

        async def _spawn(self, cmd: list[str], channel_fd: int, **kwargs) -> None:
            """Start the launcher, handing it ``channel_fd``; sets ``process`` and ``pid``."""
            factory = self.parent.factory
            if factory is None:
                at = cmd.index("--")
                cmd = [*cmd[:at], "--channel-fd", str(channel_fd), *cmd[at:]]
                await super().launch_kernel(cmd, pass_fds=(channel_fd,), **kwargs)
                return
            # the factory's child runs the launcher's main() on the same arguments
            self.process = await factory.launch(
                cmd[cmd.index("autograder.sandbox") + 1 :], channel_fd
            )
            self.pid, self.pgid = self.process.pid, None

        sealed = False

        async def seal(self) -> None:
            """Have the launcher seal /run: the kernel must have bound its sockets by now.

            The kernel's first client calls this once the kernel has answered it
            (``_client_class``), before any cell can be sent.
            """
            if not self.sealed:
                await asyncio.get_running_loop().sock_sendall(self.channel, b"seal\n")
                await self._expect("sealed")
                self.sealed = True

        async def _expect(self, word: str) -> None:
            loop = asyncio.get_running_loop()
            data = b""
            try:
                async with asyncio.timeout(STARTUP_TIMEOUT):
                    while not data.endswith(b"\n"):
                        chunk = await loop.sock_recv(self.channel, 256)
                        if not chunk:
                            break
                        data += chunk
            except TimeoutError:
                raise RuntimeError(f"the sandbox did not say {word!r} in time") from None
            line = data.decode(errors="replace").strip()
            if line != word:
                raise RuntimeError(f"the sandbox did not start: {line or 'it stopped'}")

        async def kill(self, restart: bool = False) -> None:
            # Closing the channel makes the launcher kill the sandbox's init and wait for
            # the whole pid namespace to go; only then does the launcher exit.
            self._close_channel()
            for _ in range(500):
                if self.process is None or self.process.poll() is not None:
                    return
                await asyncio.sleep(0.01)
            await super().kill(restart=restart)

        async def terminate(self, restart: bool = False) -> None:
            await self.kill(restart=restart)

        async def cleanup(self, restart: bool = False) -> None:
            self._close_channel()
            if not restart:
                (Path(self.parent.run_dir) / "kernel-connection.json").unlink(missing_ok=True)
            await super().cleanup(restart=restart)

        def _close_channel(self) -> None:
            if self.channel is not None:
                self.channel.close()
                self.channel = None

    class SandboxedKernelManager(AsyncKernelManager):
        """An AsyncKernelManager whose kernels start in the sandbox."""

        run_dir = Unicode(help="the Scratch.run folder of this kernel")
        factory = Any(None, allow_none=True, help="the KernelFactory to fork the kernel from")

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = SandboxProvisioner(
                    kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
                )
            return await super()._async_pre_start_kernel(**kw)

    return SandboxedKernelManager
