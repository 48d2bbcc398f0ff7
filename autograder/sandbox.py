"""The kernel launcher, ``python -I -m autograder.sandbox``: rlimits, then our own sandbox."""

from __future__ import annotations

import argparse
import ctypes
import errno
import json
import os
import resource
import select
import signal
import socket
import stat
import struct
import sys
from dataclasses import dataclass, field

from pmcheck import KERNEL_ENV

from . import seccomp

# It imports only the standard library, ``seccomp`` and pmcheck's constants (a module that
# imports nothing), because it runs once per kernel and, until the sandbox exists, with the
# grader's rights and in the grader's folders.

#: Exit status of a launcher that could not build the sandbox (the log says why).
SANDBOX_FAILED = 125

INSIDE_UID = INSIDE_GID = 1000
HOME = "/home/learner"
WORK = HOME + "/work"
#: The kernel's sockets are ``KERNEL_IP-1`` .. ``KERNEL_IP-5`` (ZeroMQ's ipc naming).
KERNEL_IP = "/run/kernel"
CONNECTION_FILE = "/run/connection.json"
PROBE_SOCKET = "/run/probe"
#: As root, the sandbox runs as uid (and gid) FIRST_UID + launcher pid: one per live launcher.
FIRST_UID = 3_000_000_000

#: Host paths shown read-only in the sandbox (when they exist), besides the Python.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FROM_HOST = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "nsswitch.conf",
    "alternatives",
    "localtime",
)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")

# linux/sched.h, linux/mount.h, linux/prctl.h, linux/capability.h
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID = 0x08000000, 0x10000000, 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME = 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 1, 2, 4
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_SECUREBITS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 28, 47, 4
#: noroot, no_setuid_fixup and no_cap_ambient_raise set, keep_caps off: each one locked
SECUREBITS = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80
LINUX_CAPABILITY_VERSION_3 = 0x20080522

#: statvfs flags a remount must repeat: in a user namespace the locked ones cannot go.
_KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

_libc = ctypes.CDLL(None, use_errno=True)

PROBE_CODE = f"""
import socket
server = socket.socket(socket.AF_UNIX)
server.bind({PROBE_SOCKET!r})
server.listen(1)
peer, _ = server.accept()
peer.sendall(b"1")
peer.recv(1)
"""


class SandboxError(Exception):
    """A step of building the sandbox failed; the message says which."""


def _check(result: int, what: str) -> int:
    if result == -1:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
    return result


def _path(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    _check(
        _libc.mount(
            _path(source), _path(target), _path(fstype), ctypes.c_ulong(flags), _path(data)
        ),
        f"mount {source} on {target}",
    )


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_path(target), flags), f"umount {target}")


def prctl(option: int, arg: int = 0) -> None:
    _check(
        _libc.prctl(
            option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)
        ),
        f"prctl({option})",
    )


def _syscall(name: str, *args) -> int:
    # syscall() reads every argument as a long: widen the ints ourselves
    args = tuple(ctypes.c_long(a) if isinstance(a, int) else a for a in args)
    return _check(_libc.syscall(ctypes.c_long(seccomp.syscall_number(name)), *args), name)


# --- what the launcher reads from the host, before it gives up its rights ---------------


@dataclass
class Plan:
    """Everything the sandbox needs from the host, read into memory up front."""

    python: str
    binds: list[str] = field(default_factory=list)  #: resolved host paths, outermost only
    links: list[tuple[str, str]] = field(default_factory=list)  #: (path, target) to recreate
    files: list[tuple[str, bytes]] = field(default_factory=list)  #: working folder contents
    folders: list[str] = field(default_factory=list)  #: working folder subfolders
    connection: bytes = b""
    sockets: list[str] = field(default_factory=list)  #: the kernel's, checked when sealing
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def _link_chain(path: str) -> tuple[str, list[tuple[str, str]]]:
    """``path`` resolved, and each symlink met on the way as (where it is, what it says)."""
    links: list[tuple[str, str]] = []
    todo = [part for part in path.split("/") if part]
    current = "/"
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        step = os.path.join(current, part)
        if not os.path.islink(step):
            current = step
            continue
        target = os.readlink(step)
        links.append((step, target))
        if len(links) > 40:
            raise SandboxError(f"too many symlinks resolving {path}")
        if target.startswith("/"):
            current = "/"
        todo = [p for p in target.split("/") if p] + todo
    return current, links


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(paths: set[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(paths):
        if not any(_within(path, other) for other in kept):
            kept.append(path)
    return kept


def _shown_paths() -> list[str]:
    """The host paths the kernel needs: the system, the Python, its packages and ours."""
    paths = [p for p in SYSTEM_PATHS if os.path.lexists(p)]
    paths += [
        os.path.join("/etc", name)
        for name in ETC_FROM_HOST
        if os.path.lexists(os.path.join("/etc", name))
    ]
    paths += [
        sys.base_prefix,
        sys.prefix,
        sys.executable,
        os.path.dirname(os.path.abspath(__file__)),
        package_folder("pmcheck"),
    ]
    paths += [
        p
        for p in sys.path
        if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)
    ]
    return paths


def shown(path: str) -> bool:
    """Whether every sandbox shows the host's ``path`` (read-only) to its kernel."""
    here = os.path.realpath(path)
    return any(_within(here, os.path.realpath(p)) for p in _shown_paths())


def package_folder(name: str) -> str:
    """Where the package ``name`` lives (found, not imported: nothing of it runs here)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SandboxError(f"the package {name} is not installed")
    return list(spec.submodule_search_locations)[0]


def _mounts_and_links(plan: Plan) -> None:
    resolved: set[str] = set()
    links: dict[str, str] = {}
    for path in _shown_paths():
        real, chain = _link_chain(os.path.abspath(path))
        if os.path.exists(real):
            resolved.add(real)
        links.update(chain)
    plan.binds = _outermost(resolved)
    # a link inside a bound folder is there already
    plan.links = sorted(
        (where, target)
        for where, target in links.items()
        if not any(_within(where, bound) for bound in plan.binds)
    )


def _read_work(plan: Plan, work: str, budget: int) -> None:
    """Copy the regular files below ``work`` into memory, at most ``budget`` bytes."""
    used, left_out = 0, 0
    for top, folders, names in os.walk(work):
        rel_top = os.path.relpath(top, work)
        folders[:] = sorted(f for f in folders if not os.path.islink(os.path.join(top, f)))
        plan.folders += [os.path.normpath(os.path.join(rel_top, f)) for f in folders]
        for name in sorted(names):
            path = os.path.join(top, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # a symlink (O_NOFOLLOW) or unreadable
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    continue
                if used + info.st_size > budget:
                    left_out += 1
                    continue
                data = handle.read(budget - used)
            used += len(data)
            plan.files.append((os.path.normpath(os.path.join(rel_top, name)), data))
    if left_out:
        os.write(
            2,
            f"autograder.sandbox: {left_out} files of {work} left out: more than "
            f"{budget} bytes in all\n".encode(errors="replace"),
        )


def _kernel_env(threads: int) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's but what is named here."""
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME,
        "USER": "learner",
        "LOGNAME": "learner",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": HOME + "/.config/matplotlib",
        **KERNEL_ENV,  # MindSpore's: quiet on stderr, and no pipeline threads
        # -I makes the kernel's Python ignore these two; they reach its subprocesses
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
    }
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # older OpenBLAS needs them here
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _split_kernel_args(kernel_args: list[str]) -> tuple[str | None, list[str]]:
    """The connection file given with ``-f`` and the other kernel arguments."""
    rest, connection = [], None
    args = iter(kernel_args)
    for arg in args:
        if arg == "-f":
            connection = next(args, None)
        else:
            rest.append(arg)
    return connection, rest


def make_plan(args: argparse.Namespace) -> Plan:
    plan = Plan(python=sys.executable)
    _mounts_and_links(plan)
    _read_work(plan, args.work, args.scratch_bytes)
    plan.env = _kernel_env(args.threads)
    connection, extra = _split_kernel_args(args.kernel_args)
    if args.probe:
        plan.argv = [plan.python, "-I", "-c", PROBE_CODE]
        plan.sockets = [PROBE_SOCKET]
        return plan
    if connection is None:
        raise SandboxError("no connection file (-f) for the kernel")
    with open(connection, "rb") as handle:
        plan.connection = handle.read(1 << 16)
    info = json.loads(plan.connection)
    if info.get("transport") != "ipc" or info.get("ip") != KERNEL_IP:
        raise SandboxError(f"the connection file must use transport ipc and ip {KERNEL_IP}")
    plan.sockets = [f"{KERNEL_IP}-{int(info[name])}" for name in PORT_NAMES]
    plan.argv = [plan.python, "-I", "-B", "-m", "ipykernel_launcher", "-f", CONNECTION_FILE, *extra]
    return plan


# --- limits and identity ------------------------------------------------------------------


def tasks_of_user(uid: int) -> int:
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


def set_limits(args: argparse.Namespace, processes: int, *, file_size: bool = True) -> None:
    """The kernel's rlimits (inherited through fork and exec), set on this process.

    ``file_size=False`` leaves RLIMIT_FSIZE for later (``set_file_size_limit``): the
    launcher still has to copy the working folder, whose data files may be larger.
    """
    cpu = args.cpu_seconds
    limits = {
        # the soft limit sends SIGXCPU, the hard one a second later SIGKILL
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_AS: (args.memory_bytes, args.memory_bytes),
        resource.RLIMIT_CORE: (0, 0),
        # set before unsharing: the user namespace keeps it as its own ceiling
        resource.RLIMIT_NPROC: (processes, processes),
    }
    if file_size:
        limits[resource.RLIMIT_FSIZE] = (args.file_size_bytes, args.file_size_bytes)
    if args.sandbox:
        limits[resource.RLIMIT_NOFILE] = (4096, 4096)
    _apply(limits)


def set_file_size_limit(args: argparse.Namespace) -> None:
    _apply({resource.RLIMIT_FSIZE: (args.file_size_bytes, args.file_size_bytes)})


def _apply(limits: dict[int, tuple[int, int]]) -> None:
    for which, (soft, hard) in limits.items():
        _, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(which, (soft, hard))


def die_with_parent(parent: int) -> None:
    """Be killed with the parent; a change of uid clears this, so it is set again after."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before we asked
        os._exit(SANDBOX_FAILED)


def _reader_gone(fd: int) -> bool:
    """Whether the read end of the pipe ``fd`` writes to is closed (its process died)."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def drop_root(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def enter_namespaces(uid: int, gid: int) -> None:
    """Unshare them all; inside, this process is uid/gid 1000 and the only one mapped."""
    _check(
        _libc.unshare(
            CLONE_NEWUSER
            | CLONE_NEWNS
            | CLONE_NEWNET
            | CLONE_NEWIPC
            | CLONE_NEWUTS
            | CLONE_NEWPID
            | CLONE_NEWCGROUP
        ),
        "unshare",
    )
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{INSIDE_UID} {uid} 1"),
        ("gid_map", f"{INSIDE_GID} {gid} 1"),
    ):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text + "\n")
    name = b"sandbox"
    _check(_libc.sethostname(name, len(name)), "sethostname")


def drop_capabilities() -> None:
    """No capability left, none to regain: bounding set, ambient set, then all three sets."""
    prctl(PR_SET_SECUREBITS, SECUREBITS)
    last = 63
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last = int(handle.read())
    except OSError:
        pass
    for cap in range(last + 1):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as error:
            if error.errno != errno.EINVAL:  # EINVAL: no such capability on this kernel
                raise
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = struct.pack("=Ii", LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two of struct {effective, permitted, inheritable}, all zero
    _check(_libc.capset(header, data), "capset")


# --- the file system ----------------------------------------------------------------------


def _kept_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _KEPT_FLAGS if flags & st)


def remount_read_only(path: str) -> None:
    """Make the mount at ``path`` read-only, keeping its other flags (some may be locked)."""
    mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(path))


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def bind_read_only(source: str, target: str) -> None:
    """Bind ``source`` at ``target`` with its submounts, all read-only, nosuid and nodev."""
    mount(source, target, None, MS_BIND | MS_REC)
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    try:
        _syscall(
            "mount_setattr",
            AT_FDCWD,
            _path(target),
            AT_RECURSIVE,
            ctypes.byref(attr),
            ctypes.sizeof(attr),
        )
    except OSError as error:
        if error.errno != errno.ENOSYS:  # older than Linux 5.12: only the top mount
            raise
        remount_read_only(target)


def _in_tree(path: str) -> str:
    """Where host path ``path`` goes below the new root (relative to the sandbox folder)."""
    return "root" + path


def _mkdirs(path: str) -> None:
    """Make ``path`` and its parents (0755: the umask is 022) where they are missing."""
    os.makedirs(path, mode=0o755, exist_ok=True)


def _write(path: str, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


#: The parts of the one scratch tmpfs (``_make_scratch``): where each shows, and its mode.
SCRATCH_PARTS = {
    "tmp": ("/tmp", 0o1777),
    "shm": ("/dev/shm", 0o1777),
    "run": ("/run", 0o755),
    "home": (HOME, 0o755),
}
SCRATCH_FOLDERS = tuple(folder for folder, _ in SCRATCH_PARTS.values())


def _cover(path: str) -> str | None:
    """The folder right below a scratch folder that holds host path ``path``, if any.

    ``/tmp/ci`` for a checkout at ``/tmp/ci/repo``: its venv and packages are bound there,
    and ``/tmp/ci`` gets a read-only tmpfs of its own, so that the folders leading to them
    are not part of the kernel's writable scratch.
    """
    for top in SCRATCH_FOLDERS:
        if path != top and _within(path, top):
            return os.path.join(top, os.path.relpath(path, top).split(os.sep)[0])
    return None


def _bind_host_paths(plan: Plan) -> None:
    wanted = [*plan.binds, *(where for where, _ in plan.links)]
    covers = sorted({c for c in map(_cover, wanted) if c is not None} - set(plan.binds))
    for cover in covers:
        _mkdirs(_in_tree(cover))
        mount(
            "sandbox-shown",
            _in_tree(cover),
            "tmpfs",
            MS_NOSUID | MS_NODEV,
            "size=64k,nr_inodes=1024,mode=0755",
        )
    for source in plan.binds:
        target = _in_tree(source)
        if os.path.isdir(source):
            _mkdirs(target)
        else:
            _mkdirs(os.path.dirname(target))
            _write(target, b"")
        bind_read_only(source, target)
    for where, target in plan.links:
        _mkdirs(os.path.dirname(_in_tree(where)))
        if not os.path.lexists(_in_tree(where)):
            os.symlink(target, _in_tree(where))
    for cover in covers:
        remount_read_only(_in_tree(cover))


def _write_etc() -> None:
    _mkdirs("root/etc")
    _write(
        "root/etc/passwd",
        b"learner:x:1000:1000:learner:/home/learner:/bin/sh\n"
        b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    )
    _write("root/etc/group", b"learner:x:1000:\nnogroup:x:65534:\n")
    _write("root/etc/hosts", b"127.0.0.1\tlocalhost\n127.0.1.1\tsandbox\n::1\tlocalhost\n")
    _write("root/etc/hostname", b"sandbox\n")


def _make_dev() -> None:
    _mkdirs("root/dev")
    mount(
        "sandbox-dev", "root/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755"
    )
    for name in DEVICES:
        _write(f"root/dev/{name}", b"")
        mount(f"/dev/{name}", f"root/dev/{name}", None, MS_BIND)
        mount(
            None,
            f"root/dev/{name}",
            None,
            MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC | _kept_flags(f"root/dev/{name}"),
        )
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"root/dev/{name}")
    _mkdirs("root/dev/shm")


def _make_scratch(scratch_bytes: int, owner: tuple[int, int] | None) -> None:
    """One size-capped tmpfs for all the kernel may write: /tmp, /dev/shm, /run and home."""
    options = f"size={scratch_bytes},nr_inodes={max(1024, scratch_bytes // 8192)},mode=0755"
    if owner is not None:
        options += f",uid={owner[0]},gid={owner[1]}"
    _mkdirs("root/.scratch")
    mount("sandbox-scratch", "root/.scratch", "tmpfs", MS_NOSUID | MS_NODEV, options)
    parts = {part: (_in_tree(folder), mode) for part, (folder, mode) in SCRATCH_PARTS.items()}
    for part, (target, mode) in parts.items():
        os.mkdir(f"root/.scratch/{part}")
        os.chmod(f"root/.scratch/{part}", mode)  # the umask would drop the sticky bit
        _mkdirs(target)
    for folder in ("home/work", "home/.config", "home/.config/matplotlib"):
        _mkdirs(f"root/.scratch/{folder}")
    if owner is not None:
        for top, folders, _ in os.walk("root/.scratch"):
            for name in folders:
                os.chown(os.path.join(top, name), *owner)
    for part, (target, _) in parts.items():
        mount(f"root/.scratch/{part}", target, None, MS_BIND)
    # the binds keep the tmpfs alive; its own mount point would only be clutter
    umount("root/.scratch", MNT_DETACH)
    os.rmdir("root/.scratch")


def build_tree(plan: Plan, scratch_bytes: int, owner: tuple[int, int] | None) -> None:
    """Build the new root at ./root: read-only but for the scratch tmpfs.

    Runs in the sandbox folder, in a private mount namespace where this process may mount:
    as root before it drops its rights (so it can read the Python below /root), otherwise
    inside the user namespace. ``owner`` is who the scratch tmpfs belongs to, as root.
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates to the host
    mount("sandbox-root", "root", "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,nr_inodes=4096,mode=0755")
    for folder in ("proc", "tmp", "run", "home/learner"):
        _mkdirs(f"root/{folder}")
    _make_dev()
    _make_scratch(scratch_bytes, owner)
    # after the scratch: a Python below /tmp (a checkout there) must show through it
    _bind_host_paths(plan)
    _write_etc()
    remount_read_only("root/dev")
    remount_read_only("root")


def fill_scratch(plan: Plan) -> None:
    """Write the working folder and the connection file (as the sandbox's user)."""
    work = "root" + WORK
    for folder in plan.folders:
        _mkdirs(os.path.join(work, folder))
    for name, data in plan.files:
        _mkdirs(os.path.dirname(os.path.join(work, name)))
        _write(os.path.join(work, name), data)
    if plan.connection:
        _write("root" + CONNECTION_FILE, plan.connection, 0o600)
    plan.files.clear()


def enter_root() -> None:
    """pivot_root into ./root (cwd) and let go of the host's tree."""
    _syscall("pivot_root", b".", b".")
    umount(".", MNT_DETACH)
    os.chdir("/")


def seal(sockets: list[str]) -> None:
    """Make /run read-only and check that the kernel's sockets are sockets, not symlinks."""
    mount("/run", "/run", None, MS_BIND)
    remount_read_only("/run")
    for path in sockets:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise SandboxError(f"{path} is not a socket")


# --- the processes ------------------------------------------------------------------------


def _reset_signals() -> None:
    for signum in range(1, signal.NSIG):
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(signum, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _fail(step: str, error: BaseException) -> None:
    os.write(2, f"autograder.sandbox: {step}: {error}\n".encode(errors="replace"))
    os._exit(SANDBOX_FAILED)


def kernel_main(plan: Plan, warm: bool = False) -> None:
    """Pid 2: become the kernel, with nothing left to escape with.

    ``warm``: this process was forked from the kernel factory, which imported ipykernel
    and the frameworks already; it starts the kernel in itself instead of exec'ing one.
    """
    try:
        os.setsid()
        die_with_parent(1)
        _reset_signals()
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.closerange(3, 1 << 16)
        os.umask(0o022)
        os.chdir(WORK)
        drop_capabilities()
        seccomp.install()
        if not warm:
            os.execve(plan.python, plan.argv, plan.env)
        os.environ.clear()
        os.environ.update(plan.env)
    except BaseException as error:  # noqa: BLE001 -- whatever it is, the kernel must not run
        _fail("starting the kernel", error)
    _run_kernel_here(plan)


def _fresh_framework_state(threads: int) -> None:
    """What a new Python would have: its own random seeds, and the math-library threads.

    Every forked kernel starts from the factory's memory, so without this they would all
    draw the same "random" numbers.
    """
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    seed = int.from_bytes(os.urandom(4), "little")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
    mxnet = sys.modules.get("mxnet")
    if mxnet is not None:
        mxnet.random.seed(seed)


def _run_kernel_here(plan: Plan) -> None:
    """The warm kernel: ipykernel in this process, on the arguments the cold one would get."""
    status = 0
    try:
        _fresh_framework_state(int(plan.env.get("OMP_NUM_THREADS", "1")))
        argv = plan.argv[plan.argv.index("ipykernel_launcher") + 1 :]
        sys.argv = ["ipykernel_launcher", *argv]
        from autograder.warm_app import WarmKernelApp, kernel_config

        config = kernel_config(argv)
        if config is None:
            from ipykernel.kernelapp import IPKernelApp

            IPKernelApp.launch_instance(argv=argv)
        else:
            WarmKernelApp.launch_instance(argv=[], config=config)
    except SystemExit as end:
        status = end.code if isinstance(end.code, int) else 1
    except BaseException as error:  # noqa: BLE001
        os.write(2, f"autograder.sandbox: the kernel stopped: {error}\n".encode(errors="replace"))
        status = 1
    os._exit(status)


def init_main(plan: Plan, report: int, warm: bool = False) -> None:
    """Pid 1: mount /proc, enter the new root, start the kernel and wait for it."""
    try:
        # The launcher is outside this pid namespace, so getppid() says 0 whether it
        # lives or not; the pipe to it tells.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if _reader_gone(report):
            os._exit(SANDBOX_FAILED)
        # Signals from inside reach pid 1 only if it handles them: keep no Python handler.
        _reset_signals()
        mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        enter_root()
        kernel = os.fork()
        if kernel == 0:
            os.close(report)
            kernel_main(plan, warm)
        drop_capabilities()
        prctl(PR_SET_DUMPABLE, 0)  # nothing inside may read this process's memory
        seccomp.install()
        os.write(report, b"U")
    except BaseException as error:  # noqa: BLE001
        _fail("starting init", error)
    status = None
    while True:
        try:
            pid, wait_status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == kernel:
            status = wait_status
            break
    try:
        os.write(report, b"S" + struct.pack("=i", status if status is not None else 0))
    except OSError:
        pass
    os._exit(0)  # and with pid 1 goes every process still in the namespace


class _Channel:
    """The grader's end of the conversation, by lines: we say ``up``, it may ask ``seal``."""

    def __init__(self, fd: int | None) -> None:
        self.sock = socket.socket(fileno=fd) if fd is not None else None
        self.buffer = b""

    def say(self, line: str) -> None:
        if self.sock is not None:
            try:
                self.sock.sendall(line.encode() + b"\n")
            except OSError:
                pass

    def lines(self) -> list[str] | None:
        """The complete lines waiting, or None once the grader has closed its end."""
        try:
            data = self.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.sock.close()
            self.sock = None
            return None
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode(errors="replace").strip() for line in lines]


def supervise(init: int, report: int, channel: _Channel, plan: Plan) -> int:
    """Relay between init and the grader until init exits; the kernel's wait status."""
    buffer, status, ended = b"", None, False
    while True:
        waiting = [report] + ([channel.sock] if channel.sock is not None else [])
        ready, _, _ = select.select(waiting, [], [])
        if report in ready:
            data = os.read(report, 64)
            if not data:
                break
            buffer += data
            if buffer[:1] == b"U":
                channel.say("up")
                buffer = buffer[1:]
            if buffer[:1] == b"S" and len(buffer) >= 5:
                status = struct.unpack("=i", buffer[1:5])[0]
        if channel.sock is not None and channel.sock in ready:
            lines = channel.lines()
            if lines is None:  # the grader is gone or done: end the sandbox
                os.kill(init, signal.SIGKILL)
                ended = True
            for line in lines or []:
                if line == "seal":
                    _answer_seal(channel, plan)
    _, init_status = os.waitpid(init, 0)
    if status is None:
        if not ended:
            os.write(2, b"autograder.sandbox: init stopped before the kernel did\n")
        return init_status
    return status


def _answer_seal(channel: _Channel, plan: Plan) -> None:
    try:
        seal(plan.sockets)
        drop_capabilities()  # the launcher needs no more mounts
    except (OSError, SandboxError) as error:
        os.write(2, f"autograder.sandbox: sealing /run: {error}\n".encode())
        channel.say(f"error {error}")
        return
    channel.say("sealed")


def exit_like(wait_status: int) -> None:
    """Exit as the kernel did: by the same signal (a negative status to Popen) or code."""
    if os.WIFSIGNALED(wait_status):
        signum = os.WTERMSIG(wait_status)
        if signum not in (signal.SIGKILL, signal.SIGSTOP):  # those two need no resetting
            signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(wait_status) if os.WIFEXITED(wait_status) else 1)


def sandbox_folder(run: str) -> str:
    """``<run>/sandbox``, traversable by the sandbox's uid; the new root is mounted below."""
    folder = os.path.join(run, "sandbox")
    os.makedirs(os.path.join(folder, "root"), exist_ok=True)
    os.chmod(folder, 0o711)
    return folder


def launch(args: argparse.Namespace, channel: _Channel, warm: bool = False) -> None:
    """Build the sandbox and run the kernel in it; exit as the kernel did.

    The process tree, and what each does:

    * the launcher (this process, outside, the pid the grader sees): opens the log, reads
      all it needs from the host into memory (connection file, files for the working
      folder), sets rlimits, drops root for a uid of its own, unshares every namespace,
      builds the file system at ``<run>/sandbox/root`` and forks
    * init (pid 1 of the new pid namespace): mounts a fresh /proc, pivots into the new root
      (which moves the launcher's root there too), forks the kernel, drops its capabilities
      and reaps children; when the kernel exits, init exits and takes every other process
      of the namespace with it
    * the kernel (pid 2): drops every capability, sets no_new_privs and the seccomp filter
      and execs ``python -I -m ipykernel_launcher`` with an environment built from scratch.

    The kernel's ZeroMQ sockets are unix sockets in the sandbox's /run, which the grader
    reaches as ``/proc/<launcher pid>/root/run/kernel-N``. Over ``--channel-fd`` (a socket
    pair) the launcher says ``up`` once the kernel runs and, asked to ``seal`` once the
    grader has talked to the kernel (before any learner code runs), makes /run read-only,
    so that no socket can be swapped for a symlink the grader would follow on the host.
    Closing the channel ends the sandbox.
    """
    parent = os.getppid()
    die_with_parent(parent)  # again after each change of identity, which clears it
    os.umask(0o022)  # the folders of the new root must be traversable whatever ours was
    plan = make_plan(args)
    os.chdir(sandbox_folder(args.run))
    as_root = os.getuid() == 0
    if as_root:
        uid = gid = FIRST_UID + os.getpid()
        set_limits(args, args.processes, file_size=False)
        # Only root can read the Python below /root (mode 700): build the tree first, in
        # a mount namespace of our own, then give up root.
        _check(_libc.unshare(CLONE_NEWNS), "unshare mount namespace")
        build_tree(plan, args.scratch_bytes, owner=(uid, gid))
        drop_root(uid, gid)
        prctl(PR_SET_DUMPABLE, 1)  # else /proc/self/uid_map stays root's to write
        enter_namespaces(uid, gid)
        prctl(PR_SET_DUMPABLE, 0)
    else:
        uid, gid = os.getuid(), os.getgid()
        set_limits(args, tasks_of_user(uid) + args.processes, file_size=False)
        enter_namespaces(uid, gid)
        build_tree(plan, args.scratch_bytes, owner=None)
    die_with_parent(parent)
    fill_scratch(plan)
    set_file_size_limit(args)
    # In the copied namespace the tree's mounts are locked; pivot_root wants a fresh one.
    mount("root", "root", None, MS_BIND | MS_REC)
    os.chdir("root")
    report_read, report_write = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(report_read)
        if channel.sock is not None:
            channel.sock.close()
        init_main(plan, report_write, warm)
    os.close(report_write)
    exit_like(supervise(init, report_read, channel, plan))


def run_unsandboxed(args: argparse.Namespace) -> None:
    set_limits(args, tasks_of_user(os.getuid()) + args.processes)
    try:
        die_with_parent(os.getppid())
    except OSError:
        pass
    command = [sys.executable, "-m", "ipykernel_launcher", *args.kernel_args]
    os.execv(command[0], command)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -I -m autograder.sandbox",
        description="Start an IPython kernel under limits, " "optionally in a sandbox.",
    )
    for name in ("cpu-seconds", "memory-bytes", "processes", "file-size-bytes"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--scratch-bytes", type=int, default=256 << 20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log", required=True)
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="run a tiny probe instead of the kernel (implies --sandbox)",
    )
    parser.add_argument("--work", help="folder whose files the kernel's working folder gets")
    parser.add_argument("--run", help="the grader's folder for this kernel")
    parser.add_argument("--channel-fd", type=int)
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None, *, warm: bool = False) -> None:
    """The launcher; ``warm`` when called in a child of the kernel factory (``factory.py``)."""
    args = parser().parse_args(argv)
    if args.kernel_args[:1] == ["--"]:
        args.kernel_args = args.kernel_args[1:]
    args.sandbox = args.sandbox or args.probe
    # Anything written below Jupyter's channels (C libraries, dying interpreters, our own
    # errors) goes to the log instead of the grader's terminal.
    log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    if not args.sandbox:
        run_unsandboxed(args)
    channel = _Channel(args.channel_fd)
    try:
        if not (args.work and args.run):
            raise SandboxError("--sandbox needs --work and --run")
        launch(args, channel, warm)
    except Exception as error:  # noqa: BLE001 -- whatever it is, no kernel runs unsandboxed
        os.write(
            2, f"autograder.sandbox: {type(error).__name__}: {error}\n".encode(errors="replace")
        )
        channel.say(f"error {error}")
        os._exit(SANDBOX_FAILED)


if __name__ == "__main__":
    main()
