"""The warm kernel's application: ipykernel's own, handed its settings as config.

A kernel forked from the factory (``factory.py``) gets the same settings a cold one reads
from its command line (``-f CONNECTION_FILE --HistoryManager.enabled=False``), but as a
traitlets ``Config``: building traitlets' argument parser for ipykernel's hundreds of
options costs each kernel about 20 ms of CPU for two settings. The class is made in the
factory, which imports this module, so no kernel pays for making it either.

Two lists of all modules are the exception. IPythonKernel lists the file of every module
in ``sys.modules`` (for its debugger, which steps over them), and IPython the names of them
all (for ``%reset``, which can unload what was imported after). In a kernel forked from a
factory that imported PyTorch, MXNet and MindSpore that is some 4,000 modules, and reading
each one writes to its reference count, so that the child copies thousands of the
factory's pages: 30 ms of CPU per kernel, half of starting ipykernel. So the factory makes
both lists once before it forks (``remember_modules``), and a warm kernel's two readers
see an empty ``sys.modules`` and get the factory's lists, with the modules imported since
(``sys.modules`` keeps them at its end).
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import re
import sys

import IPython.core.shellapp
import ipykernel.ipkernel
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp
from traitlets import Type
from traitlets.config import Config

SETTING = re.compile(r"--([A-Za-z_]\w*)\.([A-Za-z_]\w*)=(.*)")

#: In the factory: the files and the names of its modules, and how many there were.
_remembered: tuple[list[str], set[str], int] | None = None


def _files(modules) -> list[str]:
    # the test IPythonKernel.__init__ applies
    return [m.__file__ for m in modules if hasattr(m, "__file__") and m.__file__]


def remember_modules() -> None:
    """In the factory, after its imports: the modules each forked kernel will list."""
    global _remembered
    _remembered = (_files(sys.modules.copy().values()), set(sys.modules), len(sys.modules))


def _added_since() -> list[tuple[str, object]] | None:
    """What was added to ``sys.modules`` since the factory remembered it; None if unknown.

    A dict keeps the order its entries came in, so the new modules are its last entries.
    """
    if _remembered is None or len(sys.modules) < _remembered[2]:
        return None
    try:
        newest = list(
            itertools.islice(reversed(sys.modules.items()), len(sys.modules) - _remembered[2])
        )
    except RuntimeError:  # sys.modules changed as we read it
        return None
    return newest[::-1]


def module_files() -> list[str]:
    """The files of the modules in ``sys.modules``, as IPythonKernel lists them.

    The factory's own list where nothing was added (a copy would touch every string).
    """
    added = _added_since()
    if added is None:
        return _files(sys.modules.copy().values())
    return _remembered[0] + _files(module for _, module in added) if added else _remembered[0]


def module_names() -> set[str]:
    """The names in ``sys.modules``, as IPython keeps them (the factory's set, unchanged)."""
    added = _added_since()
    if added is None:
        return set(sys.modules.keys())
    return _remembered[1] | {name for name, _ in added} if added else _remembered[1]


class _SysWithoutModules:
    """``sys``, but with no modules: a module's global while one of its functions runs."""

    modules: dict = {}

    def __getattr__(self, name: str):
        return getattr(sys, name)


@contextlib.contextmanager
def _no_modules_in(module):
    """Within: ``module`` sees an empty ``sys.modules`` (unless it has no ``sys`` of its own)."""
    if getattr(module, "sys", None) is not sys:
        yield  # not the library this was written for: left as it is
        return
    module.sys = _SysWithoutModules()
    try:
        yield
    finally:
        module.sys = sys


class WarmKernel(IPythonKernel):
    """IPythonKernel, its list of module files taken from the factory (the module's doc)."""

    def __init__(self, **kwargs) -> None:
        with _no_modules_in(ipykernel.ipkernel):
            super().__init__(**kwargs)
        self._kernel_modules = module_files()
        if getattr(self, "debugger", None) is not None:  # made in __init__, with the empty list
            self.debugger.kernel_modules = self._kernel_modules


class WarmKernelApp(IPKernelApp):
    """IPKernelApp, with nothing to parse: its settings came in as config."""

    kernel_class = Type(WarmKernel, klass="ipykernel.kernelbase.Kernel").tag(config=True)

    def init_code(self) -> None:
        with _no_modules_in(IPython.core.shellapp):
            super().init_code()
        self.shell._sys_modules_keys = module_names()

    def parse_command_line(self, argv=None) -> None:
        self.argv = []


def kernel_config(args: list[str]) -> Config | None:
    """The config ``args`` would give ipykernel; None when they hold more than we read.

    ``-f FILE`` and ``--Class.trait=value`` (a Python literal, else a string) are read;
    anything else leaves the kernel to parse its command line as a cold one does.
    """
    config = Config()
    words = iter(args)
    for word in words:
        if word == "-f":
            config.IPKernelApp.connection_file = next(words, "")
            continue
        setting = SETTING.fullmatch(word)
        if setting is None:
            return None
        try:
            value = ast.literal_eval(setting[3])
        except (ValueError, SyntaxError):
            value = setting[3]
        config[setting[1]][setting[2]] = value
    return config
