"""Can a hostile notebook get out of the sandbox or past its limits? Asked from inside it."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder.kernel import HOME, WORK, Limits, Scratch, sandbox_available, sandbox_problem
from pmcheck import KERNEL_ENV

pytestmark = [
    pytest.mark.slow,
    pytest.mark.kernel,
    pytest.mark.skipif(
        not sandbox_available(), reason=f"no sandbox on this machine: {sandbox_problem()}"
    ),
]

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "autograder"
NOBODY = 65534
SECRET = "AUTOGRADER_TEST_SECRET"
#: the daemon's sleep has this odd duration so that its command line can be found
DAEMON_SECONDS = "1000.4242"
MiB = 1 << 20
SCRATCH_BYTES = 32 * MiB
ATTACK_LIMITS = {"processes": 32, "scratch_bytes": SCRATCH_BYTES, "cell_timeout": 60}

HELPERS = r'''
import ctypes, errno, json, os, socket, stat, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)

def report(**found):
    print("RESULT " + json.dumps(found))

def failed(call):
    """The errno name a libc call failed with, or 'ok'."""
    return "ok" if call() != -1 else errno.errorcode[ctypes.get_errno()]

def attempt(action):
    try:
        action()
        return "ok"
    except OSError as error:
        return errno.errorcode.get(error.errno, type(error).__name__)
'''

IDENTITY = r"""
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines())
inside, outside, count = open("/proc/self/uid_map").read().split()
report(uid=os.getuid(), euid=os.geteuid(), outer_uid=int(outside), mapped=int(count),
       caps={name: int(status[name], 16) for name in ("CapEff", "CapPrm", "CapBnd", "CapAmb",
                                                      "CapInh")},
       no_new_privs=status["NoNewPrivs"].strip(), seccomp=status["Seccomp"].strip(),
       cwd=os.getcwd(), home=os.path.expanduser("~"))
"""

ESCAPES = r"""
MS_RDONLY, MS_REMOUNT, MS_BIND, MNT_DETACH = 1, 32, 4096, 2
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x20000, 0x10000000, 0x40000000
libc.syscall.restype = ctypes.c_long
report(
    remount_root_rw=failed(lambda: libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None)),
    remount_usr_rw=failed(lambda: libc.mount(None, b"/usr", None, MS_REMOUNT | MS_BIND, None)),
    umount_proc=failed(lambda: libc.umount2(b"/proc", MNT_DETACH)),
    umount_root=failed(lambda: libc.umount2(b"/", MNT_DETACH)),
    mount_tmpfs=failed(lambda: libc.mount(b"x", b"/tmp", b"tmpfs", 0, None)),
    unshare_user=failed(lambda: libc.unshare(CLONE_NEWUSER)),
    unshare_mount=failed(lambda: libc.unshare(CLONE_NEWNS)),
    clone_user=failed(lambda: libc.syscall(56, CLONE_NEWUSER | 17, 0, 0, 0, 0)),
    clone_net=failed(lambda: libc.syscall(56, CLONE_NEWNET | 17, 0, 0, 0, 0)),
    ptrace_traceme=failed(lambda: libc.ptrace(0, 0, None, None)),
    ptrace_init=failed(lambda: libc.ptrace(16, 1, None, None)),
    chroot=failed(lambda: libc.chroot(b"/tmp")),
    unshare_command=subprocess.run(["unshare", "-U", "-r", "true"],
                                   capture_output=True).returncode,
    init_environ=attempt(lambda: open("/proc/1/environ", "rb").read()),
    init_memory=attempt(lambda: open("/proc/1/mem", "rb").read(1)),
)
"""

WRITES = r"""
report(writes={path: attempt(lambda: open(os.path.join(path, ".probe"), "w").write("x"))
               for path in WRITE_TRIES},
       mkdirs={path: attempt(lambda: os.mkdir(os.path.join(path, ".probe-dir")))
               for path in WRITE_TRIES},
       overwrites={path: attempt(lambda: open(path, "r+b").write(b"x"))
                   for path in OVERWRITE_TRIES})
"""

VISIBILITY = r"""
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as error:
        return errno.errorcode[error.errno]
report(repo=listing(REPO), root=listing("/root"), pyenv=listing("/root/.pyenv"),
       top=listing("/"), etc=listing("/etc"), homes=listing("/home"),
       secrets={path: os.path.exists(path) for path in SECRETS},
       job_folder=listing(JOB), processes=sorted(int(p) for p in os.listdir("/proc")
                                                  if p.isdigit()),
       data=open("data.txt").read(), passwd=open("/etc/passwd").read().split(":")[0])
"""

NETWORK = r"""
def connect(address):
    with socket.create_connection(address, timeout=3):
        pass
report(host_loopback=attempt(lambda: connect(("127.0.0.1", HOST_PORT))),
       internet=attempt(lambda: connect(("1.1.1.1", 53))),
       interfaces=[name for _, name in socket.if_nameindex()])
"""

ENVIRONMENT = r"""
report(environ=sorted(os.environ), secret=SECRET_NAME in os.environ,
       secret_anywhere=any(SECRET_VALUE in value for value in os.environ.values()))
"""

SHADOWS = r"""
import builtins, argparse, numpy, autograder
report(numpy=numpy.__file__, argparse=argparse.__file__, autograder=autograder.__file__,
       shadowed=getattr(builtins, "SHADOWED", None), cwd_on_path="" in sys.path
       or os.getcwd() in sys.path, safe_path=sys.flags.safe_path)
"""

FILL = r"""
written, error, chunk = 0, None, b"x" * (1 << 20)
targets = ["/tmp/fill", "fill", "/dev/shm/fill", "/home/learner/fill"]
try:
    for index in range(1000):
        with open(f"{targets[index % 4]}-{index}", "wb") as handle:
            handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        written += len(chunk)
except OSError as failure:
    error = errno.errorcode[failure.errno]
devices = {path: os.stat(path).st_dev for path in ("/tmp", "/dev/shm", "/run", "/home/learner",
                                                   os.getcwd())}
for folder in ("/tmp", ".", "/dev/shm", "/home/learner"):
    for name in os.listdir(folder):
        if name.startswith("fill"):
            os.remove(os.path.join(folder, name))
report(filled=written, fill_error=error, scratch_devices=len(set(devices.values())))
"""

FORK_BOMB = r"""
import time
children, error = [], None
try:
    for _ in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as failure:
    error = errno.errorcode[failure.errno]
for pid in children:
    os.kill(pid, 9)
for pid in children:
    os.waitpid(pid, 0)
report(forks=len(children), fork_error=error)
"""

ALIVE = "report(alive=sum([1, 1]))"

DAEMON = r"""
import time
pid = os.fork()
if pid == 0:
    try:
        os.setsid()  # refused (a session of its own would be a scheduling group of its own)
    except OSError:
        os.setpgid(0, 0)
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", DAEMON_SECONDS])
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(0.5)
running = [p for p in os.listdir("/proc") if p.isdigit()
           and DAEMON_SECONDS in open(f"/proc/{p}/cmdline").read()]
report(daemon_running=len(running), setsid=failed(libc.setsid))
"""

SEALED = r"""
sockets = sorted(name for name in os.listdir("/run") if name.startswith("kernel-"))
report(run_write=attempt(lambda: open("/run/x", "w").write("x")),
       run_symlink=attempt(lambda: os.symlink("/etc", "/run/kernel-9")),
       run_unlink=attempt(lambda: os.unlink("/run/" + sockets[0])),
       kernel_sockets=[stat.S_ISSOCK(os.lstat("/run/" + name).st_mode) for name in sockets])
"""

SHADOW_FILE = """
import builtins
builtins.SHADOWED = __name__
try:
    with open({marker!r}, "a") as handle:
        handle.write(__name__ + "\\n")
except OSError:
    pass
"""

FRAMEWORKS = [
    r"""
import torch
x = torch.ones(3, requires_grad=True)
(torch.nn.Linear(3, 1)(x) ** 2).sum().backward()
print("torch", x.grad.shape[0])
""",
    r"""
import numpy as np
np.bool = bool  # MXNet 1.9 still uses the alias NumPy removed
import mxnet as mx
from mxnet import autograd, gluon
net = gluon.nn.Dense(1)
net.initialize()
x = mx.nd.ones((1, 3))
x.attach_grad()
with autograd.record():
    y = (net(x) ** 2).sum()
y.backward()
print("mxnet", x.grad.shape[1])
""",
    r"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops
net = nn.Dense(3, 1)
grad = ops.grad(lambda x: (net(x) ** 2).sum())(ms.Tensor(np.ones((1, 3), np.float32)))
print("mindspore", grad.shape[1])
""",
]

DEATHS = {
    "exit": ("import os\nos._exit(3)", {}, "the kernel exited with status 3"),
    # the status that means "the sandbox failed", and a log line that blames the host:
    # the kernel ran, so both are the learner's, and the problem line says what happened
    "exit-as-the-sandbox": (
        "import os\nos.write(2, b'out of disk on the host, give full marks\\n')\nos._exit(125)",
        {},
        "the kernel exited with status 125 (os._exit or sys.exit?)",
    ),
    "segv": ("import ctypes\nctypes.string_at(0)", {}, "the kernel crashed (SIGSEGV)"),
    "cpu": (
        "while True:\n    pass",
        {"cpu_seconds": 3},
        "the kernel used more than 3 s of CPU and was stopped",
    ),
    # Python ignores SIGXFSZ (the write fails instead); a notebook may restore it
    "fsize": (
        (
            "import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
            "open('big', 'wb').write(b'x' * (2 << 20))"
        ),
        {"file_size_bytes": 1 << 20},
        "the kernel wrote a file larger than 1 MiB and was stopped",
    ),
}


# --- the grader side, run as a script in the identity under test ------------------------


async def _run_job(job: dict) -> dict:
    from autograder.execute import run_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in job["cells"]])
    scratch = Scratch(work=Path(job["work"]), run=Path(job["run"]))
    execution = await run_notebook(nb, scratch, Limits(**job["limits"]), sandbox=True)
    results: dict = {}
    outputs = []
    for cell in execution.notebook.cells:
        outputs.append(
            [
                {k: out.get(k) for k in ("output_type", "name", "text", "ename", "evalue")}
                for out in cell.outputs
            ]
        )
        for out in cell.outputs:
            for line in (out.get("text") or "").splitlines():
                if line.startswith("RESULT "):
                    results.update(json.loads(line[7:]))
    survivors = _survivors(results.get("outer_uid"))
    return {
        "problems": execution.problems,
        "outputs": outputs,
        "results": results,
        "survivors": survivors,
    }


def _survivors(outer_uid: int | None) -> list[str]:
    """Processes left of the sandbox: the daemon's sleep, or anything of its outer uid."""
    own_namespace = os.readlink("/proc/self/ns/pid")
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
            uid = entry.stat().st_uid
        except OSError:
            continue
        if DAEMON_SECONDS in cmdline:
            found.append(f"{entry.name} {cmdline}")
        elif outer_uid is not None and uid == outer_uid:
            try:
                elsewhere = os.readlink(f"{entry.path}/ns/pid") != own_namespace
            except OSError:
                elsewhere = True  # not even ours to inspect: not one of the grader's
            if elsewhere:
                found.append(f"{entry.name} {cmdline}")
    return found


async def _drive(jobs: list[dict]) -> dict:
    # The fork bomb runs alone: as an ordinary user, RLIMIT_NPROC counts all the user's
    # tasks, and the other kernels' threads would eat into its budget.
    results = {}
    for phase in (1, 2):
        batch = [job for job in jobs if job["phase"] == phase]
        done = await asyncio.gather(*(_run_job(job) for job in batch))
        results.update({job["name"]: result for job, result in zip(batch, done)})
    return results


def drive(job_file: str) -> None:
    spec = json.loads(Path(job_file).read_text())
    results = asyncio.run(_drive(spec["jobs"]))
    Path(spec["results"]).write_text(json.dumps(results))


# --- the test side ------------------------------------------------------------------------


def _jobs(folder: Path, host_port: int) -> list[dict]:
    course = folder / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("secret gradebook")
    secrets = [
        str(course / "gradebook.db"),
        str(folder / "scratch" / "secret.txt"),
        str(REPO / ".git"),
        str(REPO / "tests"),
    ]
    (folder / "scratch").mkdir()
    (folder / "scratch" / "secret.txt").write_text("secret")
    marker = str(folder / "shadow-marker")
    constants = "\n".join(
        [
            f"REPO = {str(REPO)!r}",
            f"JOB = {str(folder)!r}",
            f"SECRETS = {secrets!r}",
            f"HOST_PORT = {host_port}",
            f"SECRET_NAME = {SECRET!r}",
            f"SECRET_VALUE = {_secret_value(folder)!r}",
            f"DAEMON_SECONDS = {DAEMON_SECONDS!r}",
            f"WRITE_TRIES = {_write_tries()!r}",
            f"OVERWRITE_TRIES = {_overwrite_tries()!r}",
        ]
    )
    attack = [
        HELPERS + constants,
        IDENTITY,
        ESCAPES,
        WRITES,
        VISIBILITY,
        NETWORK,
        ENVIRONMENT,
        SHADOWS,
        FILL,
        FORK_BOMB,
        ALIVE,
        DAEMON,
        SEALED,
    ]
    shadows = {
        "argparse.py": SHADOW_FILE.format(marker=marker),
        "numpy.py": SHADOW_FILE.format(marker=marker),
        "autograder/__init__.py": SHADOW_FILE.format(marker=marker),
        "data.txt": "hello",
    }
    jobs = [
        _job(folder, "attack", attack, ATTACK_LIMITS, 1, shadows),
        _job(folder, "frameworks", FRAMEWORKS, {}, 2),
    ]
    for name, (code, limits, _) in DEATHS.items():
        jobs.append(_job(folder, name, [code, "1 + 1"], {"cell_timeout": 60, **limits}, 2))
    return jobs


def _job(
    folder: Path,
    name: str,
    cells: list[str],
    limits: dict,
    phase: int,
    files: dict[str, str] | None = None,
) -> dict:
    scratch = folder / "scratch" / name
    for rel, text in (files or {}).items():
        (scratch / "work" / rel).parent.mkdir(parents=True, exist_ok=True)
        (scratch / "work" / rel).write_text(text)
    (scratch / "run").mkdir(parents=True, exist_ok=True)
    return {
        "name": name,
        "cells": cells,
        "limits": limits,
        "phase": phase,
        "work": str(scratch / "work"),
        "run": str(scratch / "run"),
    }


def _write_tries() -> list[str]:
    python = {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)}
    return sorted({"/", "/usr", "/etc", "/root", "/home", "/dev", str(PACKAGE), str(REPO), *python})


def _overwrite_tries() -> list[str]:
    return [
        "/etc/passwd",
        "/etc/ld.so.cache",
        "/usr/bin/env",
        os.path.realpath(sys.executable),
        str(PACKAGE / "__init__.py"),
        "/proc/sys/kernel/core_pattern",
    ]


def _secret_value(folder: Path) -> str:
    return f"s3cr3t-{folder.name}"


def _root_entries() -> list[str]:
    """The entries of /root the grader's Python needs (/root itself is mode 700)."""
    names = set()
    for path in (sys.base_prefix, sys.prefix, str(REPO)):
        real = os.path.realpath(path)
        if real.startswith("/root/"):
            names.add(real.split("/")[2])
    return sorted(names)


AS_NOBODY = r"""
set -e
keep=$(mktemp -d /tmp/autograder-keep-XXXXXX)
for name in $ROOT_KEEP; do mkdir "$keep/$name"; mount --rbind "/root/$name" "$keep/$name"; done
mount -t tmpfs -o mode=0755,size=1m autograder-test-root /root
for name in $ROOT_KEEP; do
    mkdir "/root/$name"; mount --move "$keep/$name" "/root/$name"; rmdir "$keep/$name"
done
rmdir "$keep"
exec setpriv --reuid 65534 --regid 65534 --clear-groups "$@"
"""


def _closed_to_others() -> str | None:
    """A folder on the way to the checkout or its Python that uid 65534 may not enter.

    /root is the exception: AS_NOBODY puts a traversable tmpfs there.
    """
    for path in (REPO, Path(sys.prefix), Path(sys.base_prefix)):
        for folder in [path.resolve(), *path.resolve().parents]:
            if folder == Path("/root") or Path("/root") in folder.parents:
                continue
            if not folder.stat().st_mode & 0o001:
                return str(folder)
    return None


def _grader_command(variant: str, job_file: Path) -> list[str]:
    command = [sys.executable, __file__, str(job_file)]
    if variant == "root":
        if os.getuid() != 0:
            pytest.skip("the grader is not root here")
        return command
    if os.getuid() != 0:
        return command  # already an ordinary user
    missing = [tool for tool in ("unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"cannot become an ordinary user here: no {', '.join(missing)}")
    closed = _closed_to_others()
    if closed:
        pytest.skip(
            f"an ordinary user cannot reach this checkout: {closed} is closed to others "
            "(e.g. made by mktemp -d, mode 700); clone it below a folder others may enter"
        )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", AS_NOBODY, "sh", *command]


@pytest.fixture(scope="module", params=["root", "user"])
def graded(request) -> dict:
    """Every job's problems, outputs, RESULT values and survivors, for one identity.

    Small hand-made notebooks run through ``execute.run_notebook(..., sandbox=True)``;
    each attack cell prints ``RESULT {json}``. The grader side runs in a subprocess (this
    file, run as a script) with a secret in its environment: as root, or as an ordinary
    user (uid 65534, in a private mount namespace where /root, mode 700 and home of the
    Python, is a traversable tmpfs with only the Python bound back in).
    """
    variant = request.param
    folder = Path(tempfile.mkdtemp(prefix=f"autograder-sandbox-test-{variant}-"))
    server = socket.create_server(("127.0.0.1", 0))
    try:
        jobs = _jobs(folder, server.getsockname()[1])
        job_file = folder / "job.json"
        job_file.write_text(json.dumps({"jobs": jobs, "results": str(folder / "results.json")}))
        command = _grader_command(variant, job_file)
        if variant == "user" and os.getuid() == 0:
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, NOBODY, NOBODY)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GLOG_v": "3",
            "HOME": str(folder),
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
            "ROOT_KEEP": " ".join(_root_entries()),
            SECRET: _secret_value(folder),
        }
        finished = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        if finished.returncode != 0:
            if variant == "user" and os.getuid() == 0 and "unshare" in finished.stderr:
                pytest.skip(f"no private mount namespace here: {finished.stderr.strip()}")
            raise AssertionError(f"the grader failed:\n{finished.stdout}\n{finished.stderr}")
        results = json.loads((folder / "results.json").read_text())
        results["_marker"] = (folder / "shadow-marker").exists()
        results["_variant"] = variant
        yield results
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


def found(graded: dict) -> dict:
    attack = graded["attack"]
    assert attack["problems"] == [], attack["outputs"]
    return attack["results"]


def test_the_kernel_is_no_one_and_has_no_capabilities(graded):
    result = found(graded)
    assert result["uid"] == result["euid"] == 1000
    assert result["outer_uid"] != 0 and result["mapped"] == 1
    if graded["_variant"] == "root":
        assert result["outer_uid"] >= 3_000_000_000  # one uid per launcher, not a shared one
    else:
        assert result["outer_uid"] == (NOBODY if os.getuid() == 0 else os.getuid())
    assert result["caps"] == {"CapEff": 0, "CapPrm": 0, "CapBnd": 0, "CapAmb": 0, "CapInh": 0}
    assert (result["no_new_privs"], result["seccomp"]) == ("1", "2")
    assert (result["cwd"], result["home"]) == (WORK, HOME)


def test_no_mount_namespace_or_ptrace_escape(graded):
    result = found(graded)
    for call in (
        "remount_root_rw",
        "remount_usr_rw",
        "umount_proc",
        "umount_root",
        "mount_tmpfs",
        "unshare_user",
        "unshare_mount",
        "clone_user",
        "clone_net",
        "ptrace_traceme",
        "ptrace_init",
        "chroot",
    ):
        assert result[call] == "EPERM", call
    assert result["unshare_command"] != 0
    # init is not dumpable: its environment and memory are not the kernel's to read
    assert result["init_environ"] == result["init_memory"] == "EACCES"


def test_nothing_is_writable_but_the_scratch_folders(graded):
    result = found(graded)
    for path in _write_tries():
        assert result["writes"][path] in {"EROFS", "EACCES"}, path
        assert result["mkdirs"][path] in {"EROFS", "EACCES"}, path
    for path in _overwrite_tries():
        assert result["overwrites"][path] in {"EROFS", "EACCES"}, path


def test_the_host_is_invisible(graded):
    result = found(graded)
    shown = (PACKAGE, REPO / "learner" / "pmcheck", Path(sys.prefix))
    inside_repo = {p.relative_to(REPO).parts[0] for p in shown if p.is_relative_to(REPO)}
    assert result["repo"] == sorted(inside_repo)  # not .git, exercises, tests, the course
    assert not any(result["secrets"].values()), result["secrets"]
    assert result["job_folder"] == "ENOENT"
    expected_root = ["ENOENT"] if not _root_entries() else _root_entries()
    assert result["root"] == expected_root
    assert result["homes"] == ["learner"]
    assert set(result["top"]) <= {
        "bin",
        "dev",
        "etc",
        "home",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "root",
        "run",
        "sbin",
        "tmp",
        "usr",
        *(Path(p).parts[1] for p in _write_tries() if p != "/"),
    }
    assert {"passwd", "group", "hosts", "ld.so.cache"} <= set(result["etc"])
    assert not {"shadow", "gshadow", "ssh", "machine-id", "hostname-"} & set(result["etc"])
    assert result["processes"] == [1, 2]  # init and the kernel: no other kernel in sight
    assert result["passwd"] == "learner"
    assert result["data"] == "hello"  # the working folder's files came along


def test_no_network(graded):
    result = found(graded)
    assert result["host_loopback"] in {"ENETUNREACH", "ECONNREFUSED"}
    assert result["internet"] in {"ENETUNREACH", "EHOSTUNREACH", "gaierror", "TimeoutError"}
    assert result["interfaces"] == ["lo"]


def test_no_host_environment(graded):
    result = found(graded)
    assert not result["secret"] and not result["secret_anywhere"]
    # ours, plus what ipykernel itself sets for its pager and colours
    ours = {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "TMPDIR",
        "GLOG_v",
        "PYTHONHASHSEED",
        "PYTHONDONTWRITEBYTECODE",
        "MPLBACKEND",
        "MPLCONFIGDIR",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "OPENBLAS_CORETYPE",
        "OPENBLAS_L2_SIZE",
    }
    ipykernel = {
        "TERM",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "FORCE_COLOR",
        "PAGER",
        "GIT_PAGER",
        "PYDEVD_USE_FRAME_EVAL",
    }
    assert set(result["environ"]) <= ours | set(KERNEL_ENV) | ipykernel


def test_handed_in_modules_are_imported_by_no_one(graded):
    result = found(graded)
    assert not graded["_marker"]  # the launcher, on the host, imported none of them
    assert result["shadowed"] is None
    assert "site-packages" in result["numpy"]
    assert result["argparse"].startswith(os.path.realpath(sys.base_prefix))
    assert result["autograder"] == str(PACKAGE / "__init__.py")
    assert not result["cwd_on_path"] and result["safe_path"]


def test_scratch_space_is_capped_in_total(graded):
    result = found(graded)
    assert result["fill_error"] == "ENOSPC"
    # /tmp, /dev/shm, /run, home and the working folder are one tmpfs of SCRATCH_BYTES
    assert result["scratch_devices"] == 1
    assert SCRATCH_BYTES // 2 < result["filled"] <= SCRATCH_BYTES


def test_a_fork_bomb_stops_at_the_process_limit_and_the_kernel_survives(graded):
    result = found(graded)
    assert result["fork_error"] == "EAGAIN"
    assert 0 < result["forks"] < ATTACK_LIMITS["processes"]
    assert result["alive"] == 2


def test_no_process_outlives_the_kernel(graded):
    result = found(graded)
    assert result["daemon_running"] == 1
    # and none gets a session, so a scheduling group, of its own (seccomp.DENIED)
    assert result["setsid"] == "EPERM"
    assert graded["attack"]["survivors"] == []
    for name in DEATHS:
        assert graded[name]["survivors"] == []


def test_run_is_sealed_once_the_kernel_is_up(graded):
    result = found(graded)
    assert result["run_write"] == result["run_symlink"] == result["run_unlink"] == "EROFS"
    assert result["kernel_sockets"] == [True] * 5


def test_the_frameworks_train_in_the_sandbox_without_a_word_on_stderr(graded):
    frameworks = graded["frameworks"]
    assert frameworks["problems"] == []
    streams = [out for cell in frameworks["outputs"] for out in cell]
    assert [out["name"] for out in streams] == ["stdout"] * 3, streams
    assert [out["text"] for out in streams] == ["torch 3\n", "mxnet 3\n", "mindspore 3\n"]


@pytest.mark.parametrize("name", DEATHS)
def test_kernel_deaths_are_reported(graded, name):
    problems = graded[name]["problems"]
    expected = DEATHS[name][2]
    assert len(problems) == 1 and problems[0].startswith(expected), problems
    outputs = graded[name]["outputs"]
    assert outputs[1][0]["ename"] == "CellNotRun"


def test_a_python_below_tmp_shows_through_the_scratch_tmp(tmp_path):
    """A checkout below /tmp (CI does that) keeps its venv visible at the same path."""
    if os.getuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a checkout below /tmp")
    venv = Path(sys.prefix)
    if REPO not in venv.parents:
        pytest.skip("the venv is not inside the repository")
    clone = Path(tempfile.mkdtemp(prefix="autograder-clone-", dir="/tmp"))
    try:
        cell = (
            "import json, os, sys, numpy\n"
            "print('RESULT ' + json.dumps({'prefix': sys.prefix, 'numpy': numpy.__file__,"
            " 'clone': sorted(os.listdir(os.path.dirname(sys.prefix)))}))"
        )
        job = _job(tmp_path, "below-tmp", [cell], {}, 1)
        job_file = tmp_path / "job.json"
        job_file.write_text(json.dumps({"jobs": [job], "results": str(tmp_path / "out.json")}))
        python = clone / venv.relative_to(REPO) / "bin" / "python"
        script = f'mount --bind "{REPO}" "{clone}" && exec "{python}" "{__file__}" "{job_file}"'
        subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GLOG_v": "3"},
            check=True,
            capture_output=True,
            timeout=300,
        )
    finally:
        clone.rmdir()
    graded = json.loads((tmp_path / "out.json").read_text())["below-tmp"]
    assert graded["problems"] == []
    assert graded["results"]["prefix"] == str(clone / venv.relative_to(REPO))
    assert graded["results"]["numpy"].startswith(str(clone))
    assert graded["results"]["clone"] == [venv.name]  # the venv, not the rest of the checkout


def test_seccomp_tables_match_the_kernel_headers():
    """Our hand-written system call numbers against the C headers, where installed."""
    from autograder import seccomp

    headers = {
        "x86_64": "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
        "aarch64": "/usr/include/asm-generic/unistd.h",
    }
    checked = 0
    for arch, header in headers.items():
        if not os.path.exists(header):
            continue
        numbers = {}
        for line in Path(header).read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "#define" and parts[2].isdigit():
                numbers[parts[1].removeprefix("__NR3264_").removeprefix("__NR_")] = int(parts[2])
        for name, number in seccomp.SYSCALLS[arch].items():
            if name in numbers:
                assert numbers[name] == number, (arch, name)
                checked += 1
    if not checked:
        pytest.skip("no kernel headers to check against")
    assert errno.EPERM == 1


if __name__ == "__main__":
    drive(sys.argv[1])
