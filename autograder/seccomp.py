"""The graded kernel's seccomp filter: classic BPF, assembled by hand with struct."""

from __future__ import annotations

import ctypes
import errno
import os
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
#: x32 system calls run on x86_64 with this bit set in their number.
X32_SYSCALL_BIT = 0x40000000

#: System call numbers, per architecture, of every call named in this module.
SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "ioctl": 16,
        "clone": 56,
        "setsid": 112,
        "ptrace": 101,
        "syslog": 103,
        "capset": 126,
        "uselib": 134,
        "personality": 135,
        "vhangup": 153,
        "pivot_root": 155,
        "adjtimex": 159,
        "chroot": 161,
        "acct": 163,
        "settimeofday": 164,
        "mount": 165,
        "umount2": 166,
        "swapon": 167,
        "swapoff": 168,
        "reboot": 169,
        "iopl": 172,
        "ioperm": 173,
        "init_module": 175,
        "delete_module": 176,
        "quotactl": 179,
        "clock_settime": 227,
        "kexec_load": 246,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "unshare": 272,
        "perf_event_open": 298,
        "name_to_handle_at": 303,
        "open_by_handle_at": 304,
        "clock_adjtime": 305,
        "setns": 308,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "finit_module": 313,
        "kexec_file_load": 320,
        "bpf": 321,
        "userfaultfd": 323,
    },
    "aarch64": {
        "ioctl": 29,
        "umount2": 39,
        "setsid": 157,
        "mount": 40,
        "pivot_root": 41,
        "chroot": 51,
        "vhangup": 58,
        "quotactl": 60,
        "acct": 89,
        "capset": 91,
        "personality": 92,
        "unshare": 97,
        "kexec_load": 104,
        "init_module": 105,
        "delete_module": 106,
        "clock_settime": 112,
        "syslog": 116,
        "ptrace": 117,
        "reboot": 142,
        "settimeofday": 170,
        "adjtimex": 171,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "clone": 220,
        "swapon": 224,
        "swapoff": 225,
        "perf_event_open": 241,
        "name_to_handle_at": 264,
        "open_by_handle_at": 265,
        "clock_adjtime": 266,
        "setns": 268,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "finit_module": 273,
        "bpf": 280,
        "userfaultfd": 282,
        "kexec_file_load": 294,
    },
}
# Numbered alike on both (the calls added since Linux 5.1 share one table).
for _table in SYSCALLS.values():
    _table.update(
        {
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "open_tree": 428,
            "move_mount": 429,
            "fsopen": 430,
            "fsconfig": 431,
            "fsmount": 432,
            "fspick": 433,
            "clone3": 435,
            "pidfd_getfd": 438,
            "mount_setattr": 442,
            "quotactl_fd": 443,
            "open_tree_attr": 467,
        }
    )
del _table

#: Calls a notebook never needs and a sandbox escape or kernel exploit often does.
DENIED = (
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "open_tree_attr",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "uselib",
    "open_by_handle_at",
    "name_to_handle_at",
    "syslog",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "personality",
    "vhangup",
    # A new session is a new scheduling group (autogroup): with one each, 200 busy
    # processes of one kernel would get 200 shares of the CPU, and the other kernels one
    # each. Kept in the kernel's session, they share its one.
    "setsid",
)

#: clone() flags that would make a new namespace (CLONE_NEWTIME has no clone() bit).
CLONE_NEW_FLAGS = (
    0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
)
#: ioctls that push input into a terminal or drive the console.
DENIED_IOCTLS = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX

_ARCHES = (("x86_64", AUDIT_ARCH_X86_64), ("aarch64", AUDIT_ARCH_AARCH64))

# classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h)
_LD_W_ABS = 0x20
_JEQ, _JGE, _JSET = 0x15, 0x35, 0x45
_RET = 0x06
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
# offsets in struct seccomp_data: nr, arch, instruction pointer, then six 64-bit args
_NR, _ARCH = 0, 4


def _arg_low(index: int) -> int:
    """Offset of the low 32 bits of argument ``index`` (both architectures are little-endian)."""
    return 16 + 8 * index


class _Assembler:
    """Collects instructions whose jump targets are labels, then resolves the offsets."""

    def __init__(self) -> None:
        self.code: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self.code.append((_LD_W_ABS, 0, 0, offset))

    def ret(self, value: int) -> None:
        self.code.append((_RET, 0, 0, value))

    def jump(self, op: int, k: int, true: str | int = 0, false: str | int = 0) -> None:
        """Go to label ``true`` (or fall through, 0) when the test holds, else ``false``."""
        self.code.append((op, true, false, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def assemble(self) -> bytes:
        out = bytearray()
        for at, (op, true, false, k) in enumerate(self.code):
            out += struct.pack("=HBBI", op, self._offset(at, true), self._offset(at, false), k)
        return bytes(out)

    def _offset(self, at: int, target: str | int) -> int:
        if isinstance(target, int):
            return target
        offset = self.labels[target] - at - 1
        if not 0 <= offset <= 255:
            raise ValueError(f"seccomp jump to {target} out of range ({offset})")
        return offset


def _arch_section(asm: _Assembler, arch: str) -> None:
    table = SYSCALLS[arch]
    eperm, enosys = f"{arch}.eperm", f"{arch}.enosys"
    asm.label(arch)
    asm.load(_NR)
    if arch == "x86_64":
        asm.jump(_JGE, X32_SYSCALL_BIT, eperm)
    for name in DENIED:
        if name in table:  # iopl and ioperm exist on x86 only
            asm.jump(_JEQ, table[name], eperm)
    # clone3 passes its flags in memory a filter cannot read; ENOSYS makes libc use clone
    asm.jump(_JEQ, table["clone3"], enosys)
    asm.jump(_JEQ, table["clone"], f"{arch}.clone")
    asm.jump(_JEQ, table["ioctl"], f"{arch}.ioctl")
    asm.ret(RET_ALLOW)
    asm.label(f"{arch}.clone")
    asm.load(_arg_low(0))
    asm.jump(_JSET, CLONE_NEW_FLAGS, eperm)
    asm.ret(RET_ALLOW)
    asm.label(f"{arch}.ioctl")
    asm.load(_arg_low(1))  # the kernel reads the request as a 32-bit unsigned int
    for request in DENIED_IOCTLS:
        asm.jump(_JEQ, request, eperm)
    asm.ret(RET_ALLOW)
    asm.label(eperm)
    asm.ret(RET_ERRNO | errno.EPERM)
    asm.label(enosys)
    asm.ret(RET_ERRNO | errno.ENOSYS)


def program() -> bytes:
    """The filter for every architecture we know; any other one kills the process."""
    asm = _Assembler()
    asm.load(_ARCH)
    for name, audit_arch in _ARCHES:
        asm.jump(_JEQ, audit_arch, name)
    asm.ret(RET_KILL_PROCESS)
    for name, _ in _ARCHES:
        _arch_section(asm, name)
    return asm.assemble()


def syscall_number(name: str) -> int:
    """This machine's number for system call ``name``."""
    machine = os.uname().machine
    try:
        return SYSCALLS[machine][name]
    except KeyError:
        raise OSError(errno.ENOSYS, f"no system call number for {name} on {machine}") from None


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def install() -> None:
    """Set no_new_privs and load the filter into this process (and all it will exec)."""
    if os.uname().machine not in SYSCALLS:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {os.uname().machine}")
    libc = ctypes.CDLL(None, use_errno=True)
    code = program()
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    for option, args in (
        (PR_SET_NO_NEW_PRIVS, (1, 0, 0, 0)),
        (PR_SET_SECCOMP, (SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0)),
    ):
        if libc.prctl(option, *(ctypes.c_ulong(a) for a in args)) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl({option}): {os.strerror(error)}")
