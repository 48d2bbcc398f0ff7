"""The one seam every graded notebook runs through: a kernel launcher with limits.

``kernel_manager()`` gives a jupyter_client kernel manager whose kernel command is
``python -m autograder.kernel [limits] -- -f CONNECTION_FILE``. That launcher (``main``
below) sends the kernel's own stdout/stderr to a log file, applies resource limits with
setrlimit, and then execs ``ipykernel_launcher`` -- inside bubblewrap when asked to, with
no network, a read-only file system, only its scratch folders writable and the course
folder hidden. The kernel talks over unix sockets (``transport="ipc"``) in its scratch
folder, because a kernel without a network cannot be reached over TCP loopback.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

MiB = 1 << 20
GiB = 1 << 30


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


@dataclass(frozen=True)
class Scratch:
    """The folders of one kernel: ``work`` is its cwd, ``run`` holds sockets and its log."""

    work: Path
    run: Path
    hidden: tuple[Path, ...] = field(default=())  #: folders the sandbox must not show

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
    """Whether bubblewrap is installed and can make a sandbox on this machine."""
    return _bwrap_works(shutil.which("bwrap"))


@lru_cache(maxsize=None)
def _bwrap_works(bwrap: str | None) -> bool:
    if bwrap is None:
        return False
    probe = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def kernel_manager(scratch: Scratch, limits: Limits, *, sandbox: bool = False,
                   isolate_home: bool = True) -> AsyncKernelManager:
    """A kernel manager that starts the kernel through our launcher, in ``scratch``."""
    # imported here so that the launcher below, run once per kernel, starts fast
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class OneSpec(KernelSpecManager):
        """A kernel spec manager that knows exactly one spec: ours."""

        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: ARG002
            return spec

    for folder in (scratch.work, scratch.run):
        folder.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "autograder.kernel",
            "--cpu-seconds", str(limits.cpu_seconds),
            "--memory-bytes", str(limits.memory_bytes),
            "--processes", str(limits.processes),
            "--file-size-bytes", str(limits.file_size_bytes),
            "--log", str(scratch.log)]
    if sandbox:
        argv += ["--sandbox", "--work", str(scratch.work), "--run", str(scratch.run)]
        for path in scratch.hidden:
            argv += ["--hide", str(path)]
    argv += ["--", "-f", "{connection_file}"]
    # Interrupts go over the control channel: a signal to bwrap would not reach the
    # kernel in its own session.
    spec = KernelSpec(argv=argv, display_name="Python 3 (autograder)", language="python",
                      interrupt_mode="message", env=_kernel_env(scratch, limits, isolate_home))
    return AsyncKernelManager(kernel_name="autograder", kernel_spec_manager=OneSpec(),
                              transport="ipc", ip=str(scratch.run / "kernel"),
                              connection_file=str(scratch.run / "connection.json"))


def _kernel_env(scratch: Scratch, limits: Limits, isolate_home: bool) -> dict[str, str]:
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


# --- the launcher: runs as ``python -m autograder.kernel`` ---------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder.kernel",
                                     description="Start an IPython kernel under limits.")
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--memory-bytes", type=int, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--file-size-bytes", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--run", type=Path)
    parser.add_argument("--hide", type=Path, action="append", default=[])
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER)
    return parser


def _tasks_of_user(uid: int) -> int:
    """How many processes and threads ``uid`` runs now (RLIMIT_NPROC counts all of them)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


def _set_limits(args: argparse.Namespace) -> None:
    cpu = args.cpu_seconds
    limits = {
        # the soft limit sends SIGXCPU, the hard one a second later SIGKILL
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_AS: (args.memory_bytes, args.memory_bytes),
        resource.RLIMIT_FSIZE: (args.file_size_bytes, args.file_size_bytes),
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_NPROC: (_tasks_of_user(os.getuid()) + args.processes,) * 2,
    }
    for which, (soft, hard) in limits.items():
        _, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(which, (soft, hard))


def bwrap_command(work: Path, run: Path, hidden: list[Path]) -> list[str]:
    """bubblewrap's arguments: nothing writable but ``work`` and ``run``, no network."""
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
               "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in _needed_under_tmp():
        # The kernel's Python and this package may live below /tmp (a checkout there):
        # show them again, read-only, through the fresh /tmp.
        command += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        # an empty, read-only tmpfs over a folder hides what is in it
        command += ["--tmpfs", str(path), "--remount-ro", str(path)]
    command += ["--bind", str(run), str(run), "--bind", str(work), str(work),
                "--chdir", str(work)]
    return command


def _needed_under_tmp() -> list[Path]:
    """The folders the kernel reads (Python, its packages, this project) that lie in /tmp."""
    tmp = Path("/tmp").resolve()
    needed = {Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[1]}
    needed = {path.resolve() for path in needed}
    inside = [path for path in needed if path == tmp or tmp in path.parents]
    # A folder already shown through one of its parents needs no bind of its own.
    return sorted(path for path in inside
                  if not any(other in path.parents for other in inside))


def _die_with_parent() -> None:
    """Ask Linux to kill this process (and so the kernel it becomes) if the grader dies."""
    try:
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> None:
    """Apply the limits, then become the kernel (optionally inside bubblewrap)."""
    args = _parser().parse_args(argv)
    _die_with_parent()
    kernel_args = args.kernel_args[1:] if args.kernel_args[:1] == ["--"] else args.kernel_args
    # Anything written below Jupyter's channels (C libraries, dying interpreters) goes
    # to the log instead of the grader's terminal.
    log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    _set_limits(args)
    command = [sys.executable, "-m", "ipykernel_launcher", *kernel_args]
    if args.sandbox:
        command = bwrap_command(args.work, args.run, args.hide) + command
        # In its own PID namespace the kernel's parent is pid 1, which ipykernel's parent
        # poller takes for a dead grader; bwrap --die-with-parent does that job instead.
        os.environ.pop("JPY_PARENT_PID", None)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
