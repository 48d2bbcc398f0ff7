"""The warm kernel's settings: what its command line says, read without ipykernel's parser."""

from __future__ import annotations

from autograder.kernel import Limits, Scratch, launcher_argv
from autograder.warm_app import WarmKernelApp, kernel_config


def test_the_launchers_kernel_arguments_become_the_same_config(tmp_path):
    argv = launcher_argv(Scratch(tmp_path / "w", tmp_path / "r"), Limits(), sandbox=True)
    kernel_args = argv[argv.index("--") + 1 :]
    config = kernel_config([a.replace("{connection_file}", "/run/c.json") for a in kernel_args])
    assert config.IPKernelApp.connection_file == "/run/c.json"
    assert config.HistoryManager.enabled is False
    assert config.IPKernelApp.extensions == ["autograder.mindspore_spin"]


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
