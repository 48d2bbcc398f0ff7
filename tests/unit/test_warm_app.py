"""The warm kernel's settings, read without ipykernel's parser, and its lists of modules."""

from __future__ import annotations

import sys
import types

from autograder import warm_app
from autograder.kernel import Limits, Scratch, launcher_argv
from autograder.warm_app import WarmKernelApp, kernel_config


def test_the_launchers_kernel_arguments_become_the_same_config(tmp_path):
    argv = launcher_argv(Scratch(tmp_path / "w", tmp_path / "r"), Limits(), sandbox=True)
    kernel_args = argv[argv.index("--") + 1 :]
    config = kernel_config([a.replace("{connection_file}", "/run/c.json") for a in kernel_args])
    assert config.IPKernelApp.connection_file == "/run/c.json"
    assert config.HistoryManager.enabled is False
    assert config.IPKernelApp.extensions == [
        "autograder.mindspore_spin",
        "autograder.output_pieces",
    ]


def test_values_are_python_literals_else_strings():
    config = kernel_config(["--A.n=3", "--A.s=hello", "--A.t='quoted'", "--B.flag=True"])
    assert (config.A.n, config.A.s, config.A.t, config.B.flag) == (3, "hello", "quoted", True)


def test_anything_else_is_left_to_ipykernels_own_parser():
    assert kernel_config(["-f", "c.json", "--matplotlib=inline"]) is None
    assert kernel_config(["--debug"]) is None


def test_the_app_takes_its_settings_from_config_alone():
    app = WarmKernelApp(config=kernel_config(["-f", "/run/c.json"]))
    app.parse_command_line(["--IPKernelApp.connection_file=/elsewhere.json"])
    assert app.connection_file == "/run/c.json"


def _module(monkeypatch, name: str) -> None:
    module = types.ModuleType(name)
    module.__file__ = f"/nowhere/{name}.py"
    monkeypatch.setitem(sys.modules, name, module)


def test_the_factorys_module_lists_are_what_a_kernel_would_read(monkeypatch):
    """A forked kernel takes both lists of modules from the factory, plus what came since."""
    monkeypatch.setattr(warm_app, "_remembered", None)
    _module(monkeypatch, "autograder_test_old")
    warm_app.remember_modules()
    assert warm_app.module_files() is warm_app._remembered[0]  # nothing new: no copy
    assert warm_app.module_names() is warm_app._remembered[1]
    _module(monkeypatch, "autograder_test_new")  # imported after the fork

    def as_read():
        files = [m.__file__ for m in sys.modules.copy().values() if getattr(m, "__file__", None)]
        return files, set(sys.modules.keys())

    assert (warm_app.module_files(), warm_app.module_names()) == as_read()
    assert warm_app.module_files()[-1] == "/nowhere/autograder_test_new.py"
    monkeypatch.delitem(sys.modules, "autograder_test_old")
    monkeypatch.delitem(sys.modules, "autograder_test_new")  # fewer than remembered
    assert (warm_app.module_files(), warm_app.module_names()) == as_read()
    assert "autograder_test_old" not in warm_app.module_names()


def test_while_ipykernel_lists_modules_it_reads_none():
    import ipykernel.ipkernel

    with warm_app._no_modules_in(ipykernel.ipkernel):
        assert ipykernel.ipkernel.sys.modules == {}
        assert ipykernel.ipkernel.sys.version == sys.version  # the rest of sys, as it is
    assert ipykernel.ipkernel.sys is sys


def test_the_spin_watcher_runs_no_code_of_the_learners_to_look_at_their_namespace():
    """It reads module and class names past any property, ``__getattr__`` or ``__class__``."""
    import types

    from autograder import mindspore_spin

    class Meta(type):
        @property
        def __module__(cls):
            raise AssertionError("the metaclass's property ran")

    class Trap(metaclass=Meta):
        @property
        def __class__(self):
            raise AssertionError("__class__ ran")

        def __getattr__(self, name):
            raise AssertionError("__getattr__ ran")

    class Module(types.ModuleType):
        def __getattribute__(self, name):
            raise AssertionError("the module's __getattribute__ ran")

    class Mindspore:  # an object of MindSpore's, as far as its class says
        pass

    Mindspore.__module__ = "mindspore.common.tensor"
    shell = types.SimpleNamespace(user_ns={"trap": Trap(), "module": Module("m"), "np": types})
    watcher = mindspore_spin._Watcher(shell)
    assert watcher._may_use_mindspore(types.SimpleNamespace(raw_cell="x = 1")) is False
    shell.user_ns["tensor"] = Mindspore()
    assert watcher._may_use_mindspore(None) is True
    assert watcher._may_use_mindspore(types.SimpleNamespace(raw_cell="import mindspore")) is True
