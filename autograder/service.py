"""The kernel service: warm kernel factories that outlive one ``grade`` run.

Every ``grade`` starts its own factories (``factory.py``), which spend seconds of CPU
importing the frameworks before the first notebook runs. ``autograder factory start``
starts them once instead, as a service of the instructor's user: one factory per
framework, each listening on a unix socket, and every later ``grade`` (on this machine, or
a Dask worker here) that finds a socket for its frameworks forks its kernels from there. A kernel is still a fresh
fork of a factory that ran no learner code, in the same sandbox; only the imports are
shared, as they are within one run.

Safety:

* The sockets live in a folder of their own (``AUTOGRADER_RUNTIME_DIR``, else
  ``/tmp/autograder-<uid>``) that must be a real folder, owned by the user, mode 700; and
  the service answers only peers of its own uid (``SO_PEERCRED``).
* A socket's name carries a digest of the code and the Python (``version``): after a
  ``git pull`` or a change of interpreter, ``grade`` no longer finds the old service and
  starts factories of its own, as without one.
* It exits after ``idle`` seconds with no grader connected (an hour unless told), or on
  ``autograder factory stop``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pmcheck import FRAMEWORKS

from . import kernel, sandbox

#: Seconds with no grader connected after which a service exits.
IDLE_SECONDS = 3600
#: One service factory per framework, as ``grade`` starts its own (``grade._Kernels``).
FRAMEWORK_SETS = tuple((framework,) for framework in FRAMEWORKS)
PACKAGES = ("autograder", "pmcheck")


class ServiceError(RuntimeError):
    """The service's folder is not safe to use, or a service could not start."""


def runtime_dir(create: bool = True) -> Path:
    """The folder of this user's service sockets, checked: ours, a folder, mode 700."""
    given = os.environ.get("AUTOGRADER_RUNTIME_DIR")
    folder = Path(given) if given else Path(f"/tmp/autograder-{os.getuid()}")
    if given and sandbox.shown(str(folder)):
        raise ServiceError(
            f"{folder} lies in what every sandbox shows (the Python, its packages, this "
            "checkout's packages): a kernel could reach the service there"
        )
    if create:
        try:
            folder.mkdir(mode=0o700, parents=bool(given))
        except FileExistsError:
            pass
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return folder
    if not stat.S_ISDIR(info.st_mode):
        raise ServiceError(f"{folder} is not a folder (a link?): no kernel service there")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ServiceError(
            f"{folder} must belong to uid {os.getuid()} with mode 700 (it has uid "
            f"{info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}): no kernel service there"
        )
    return folder


@cache
def version() -> str:
    """A digest of what a factory's kernels are made of: the code, the Python, their settings."""
    import site

    digest = hashlib.sha256()
    digest.update(os.path.realpath(sys.executable).encode())
    # PATH aside (grade puts the venv's scripts on it): a sandboxed kernel never sees it
    settings = {name: value for name, value in kernel.factory_env().items() if name != "PATH"}
    digest.update(json.dumps(sorted(settings.items())).encode())
    # the environment, not only its base Python: another venv, or an upgraded package,
    # must not find a service that imported something else
    digest.update(os.path.realpath(sys.prefix).encode())
    # each installed distribution's name and version, from its .dist-info folder's name
    installed = sorted(
        entry
        for folder in {*site.getsitepackages(), site.getusersitepackages()}
        if os.path.isdir(folder)
        for entry in os.listdir(folder)
        if entry.endswith((".dist-info", ".egg-info", ".egg-link", ".pth"))
    )
    digest.update("\n".join(installed).encode())
    for package in PACKAGES:
        root = Path(sandbox.package_folder(package))
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def socket_path(frameworks: tuple[str, ...] | list[str], create: bool = True) -> Path:
    name = "+".join(frameworks) or "python"
    return runtime_dir(create) / f"{name}-{version()}.sock"


def connect(frameworks: tuple[str, ...] | list[str]):
    """A KernelFactory on the running service for ``frameworks``, or None if there is none.

    The service's ready message is read by ``wait_ready``, as a factory's own would be.
    """
    try:
        path = socket_path(frameworks, create=False)
    except ServiceError:
        return None
    found = _connect_ours(path)
    if found is None:
        return None
    factory = kernel.KernelFactory(None, found[0])
    factory.peer = found[1]
    return factory


def _connect_ours(path: Path) -> tuple[socket.socket, int] | None:
    """A connection to the socket at ``path``, and its server's pid, if our own uid serves it.

    The folder's checks alone are not enough: another user may put a folder of theirs in
    place between the check and the connect (the folder need not exist yet). The peer's
    credentials, read from the connected socket, cannot be forged.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.connect(str(path))
        pid, uid, _ = peer_credentials(sock)
    except OSError:
        sock.close()
        return None
    if uid != os.getuid():
        sock.close()
        return None
    return sock, pid


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a unix socket."""
    import struct

    return struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))


@dataclass(frozen=True)
class Running:
    """A service factory found in the folder."""

    path: Path
    pid: int | None  #: None: its socket is stale (it died)

    @property
    def frameworks(self) -> str:
        return self.path.stem.rpartition("-")[0]

    @property
    def version(self) -> str:
        return self.path.stem.rpartition("-")[2]

    @property
    def current(self) -> bool:
        return self.version == version()


def running() -> list[Running]:
    """Every service socket in the folder, each asked whether it lives."""
    try:
        folder = runtime_dir(create=False)
    except ServiceError:
        return []
    found = []
    for path in sorted(folder.glob("*.sock")) if folder.is_dir() else []:
        found.append(Running(path, _hello(path)))
    return found


def _hello(path: Path) -> int | None:
    found = _connect_ours(path)
    if found is None:
        return None
    sock = found[0]
    sock.settimeout(120)  # a factory still importing answers when it is done
    try:
        reply = json.loads(sock.recv(1 << 16) or b"{}")
        return int(reply["pid"]) if reply.get("ready") else None
    except (OSError, ValueError, KeyError):
        return None
    finally:
        sock.close()


def start(
    framework_sets=FRAMEWORK_SETS, idle: float = IDLE_SECONDS, timeout: float = 300
) -> list[Running]:
    """Start a service factory for each set of frameworks not already served; wait until ready.

    Each runs in a session of its own, so that it outlives the command that started it.
    """
    folder = runtime_dir()
    started = []
    for frameworks in framework_sets:
        path = socket_path(frameworks)
        if path.exists():
            if _hello(path) is not None:
                continue
            path.unlink(missing_ok=True)  # its factory died: the name is free again
        log = folder / f"{path.stem}.log"
        started.append(
            (frameworks, kernel.KernelFactory.spawn(list(frameworks), log, listen=path, idle=idle))
        )
    for frameworks, factory in started:
        try:
            factory.wait_ready(timeout)
        except kernel.FactoryError as error:
            raise ServiceError(
                f"the kernel service for {'+'.join(frameworks) or 'python'} did not start: "
                f"{error} (log: {folder})"
            ) from None
        factory.sock.close()  # it serves on at its socket, in a session of its own
    return running()


def stop() -> list[Running]:
    """Stop every service factory of this user (their running kernels with them)."""
    stopped = []
    for service in running():
        path = service.path
        if service.pid is None:
            path.unlink(missing_ok=True)
            continue
        found = _connect_ours(path)
        if found is None:
            continue
        sock = found[0]
        try:
            sock.recv(1 << 16)
            sock.send(json.dumps({"stop": True}).encode())
            sock.settimeout(30)
            sock.recv(1)  # it closes our end as it exits
        except OSError:
            pass
        finally:
            sock.close()
        for _ in range(100):  # and its socket file goes last
            if not path.exists():
                break
            time.sleep(0.05)
        stopped.append(service)
    return stopped
