"""The one seam every graded notebook runs through: a kernel launcher with limits and a sandbox."""
from __future__ import annotations

import asyncio
import json
import os
import queue
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

from .sandbox import HOME, KERNEL_IP, PORT_NAMES, PROBE_SOCKET, SANDBOX_FAILED, WORK

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

__all__ = ["HOME", "SANDBOX_FAILED", "WORK", "GiB", "Limits", "MiB", "Scratch",
           "kernel_manager", "launcher_argv", "sandbox_available", "sandbox_problem"]

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
    process = subprocess.Popen(argv, cwd=scratch.run, env=_launcher_env(),
                               stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                               start_new_session=True)
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


def launcher_argv(scratch: Scratch, limits: Limits, *, sandbox: bool, probe: bool = False,
                  channel_fd: int | None = None) -> list[str]:
    """The launcher's command, ending in the kernel's ``-- -f {connection_file}``.

    ``probe`` starts a sandbox with a tiny stand-in for the kernel (see ``sandbox_problem``).
    """
    # -I: nothing from the environment or the cwd may change what the launcher imports
    argv = [sys.executable, "-I", "-m", "autograder.sandbox",
            "--cpu-seconds", str(limits.cpu_seconds),
            "--memory-bytes", str(limits.memory_bytes),
            "--processes", str(limits.processes),
            "--file-size-bytes", str(limits.file_size_bytes),
            "--log", str(scratch.log)]
    if sandbox:
        argv += ["--probe" if probe else "--sandbox", "--work", str(scratch.work), "--run", str(scratch.run),
                 "--scratch-bytes", str(limits.scratch_bytes), "--threads", str(limits.threads)]
    if channel_fd is not None:
        argv += ["--channel-fd", str(channel_fd)]
    return argv + ["--", "-f", "{connection_file}"]


def _launcher_env() -> dict[str, str]:
    """The launcher's environment: none of the grader's secrets ever enter the sandbox."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "GLOG_v": "3"}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def kernel_manager(scratch: Scratch, limits: Limits, *, sandbox: bool = False,
                   isolate_home: bool = True) -> AsyncKernelManager:
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
    spec = KernelSpec(argv=launcher_argv(scratch, limits, sandbox=sandbox),
                      display_name="Python 3 (autograder)", language="python",
                      interrupt_mode="message",
                      env={} if sandbox else _kernel_env(scratch, limits, isolate_home))
    options = {"kernel_name": "autograder", "kernel_spec_manager": OneSpec(),
               "transport": "ipc", "connection_file": str(scratch.run / "connection.json")}
    if sandbox:
        return _sandboxed_manager_class()(run_dir=str(scratch.run), ip=KERNEL_IP, **options)
    return AsyncKernelManager(ip=str(scratch.run / "kernel"), **options)


def _kernel_env(scratch: Scratch, limits: Limits, isolate_home: bool) -> dict[str, str]:
    """What the unsandboxed kernel gets on top of the grader's environment."""
    import site

    env = {
        # MindSpore logs [WARNING] lines to stderr unless told not to, and nbgrader
        # gives 0 points to a test cell that wrote anything to stderr.
        "GLOG_v": "3",
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


@cache
def _sandboxed_manager_class() -> type[AsyncKernelManager]:
    """The manager and provisioner classes, made on first use (jupyter_client is slow to load)."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner
    from traitlets import Unicode

    class SandboxProvisioner(LocalProvisioner):
        """Starts the launcher and connects to the kernel inside through /proc/PID/root.

        The kernel gets a connection file of ours whose ip is the path inside
        (``/run/kernel``); the manager and its clients get the same ports with the ip
        ``/proc/<launcher pid>/root/run/kernel``. Over a socket pair the launcher says
        when the sandbox is up, and seals /run once the kernel has answered, before any
        of the learner's code can run.
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
            kwargs["cmd"] = [str(inside) if arg == km.connection_file else arg
                             for arg in kwargs["cmd"]]
            kwargs["env"] = _launcher_env()
            kwargs["cwd"] = km.run_dir  # never the learner's folder
            return kwargs

        async def launch_kernel(self, cmd, **kwargs):
            ours, theirs = socket.socketpair()
            at = cmd.index("--")
            cmd = [*cmd[:at], "--channel-fd", str(theirs.fileno()), *cmd[at:]]
            try:
                await super().launch_kernel(cmd, pass_fds=(theirs.fileno(),), **kwargs)
            finally:
                theirs.close()
            ours.setblocking(False)
            self.channel = ours
            await self._expect("up")
            self.connection_info = dict(self.connection_info,
                                        ip=f"/proc/{self.pid}/root{KERNEL_IP}")
            return self.connection_info

        async def post_launch(self, **kwargs):
            await super().post_launch(**kwargs)
            await self._wait_until_answering()
            await asyncio.get_running_loop().sock_sendall(self.channel, b"seal\n")
            await self._expect("sealed")

        async def _wait_until_answering(self) -> None:
            """Until the kernel answers kernel_info: it has bound all its sockets by then.

            (``wait_for_ready`` would do, but it also drains IOPub for 0.2 s, which the
            client nbclient makes next does again.)
            """
            client = self.parent.client()
            client.start_channels(iopub=False, stdin=False, hb=False, control=False)
            deadline = time.monotonic() + STARTUP_TIMEOUT
            try:
                while True:
                    client.kernel_info()
                    try:
                        reply = await client.get_shell_msg(timeout=1)
                    except queue.Empty:
                        if not await self.parent.is_alive():
                            raise RuntimeError("the kernel died while starting") from None
                        if time.monotonic() > deadline:
                            raise RuntimeError("the kernel did not answer in time") from None
                        continue
                    if reply.get("msg_type") == "kernel_info_reply":
                        return
            finally:
                client.stop_channels()

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

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = SandboxProvisioner(kernel_id=self.kernel_id,
                                                      kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

    return SandboxedKernelManager
