"""The warm kernel's application: ipykernel's own, handed its settings as config.

A kernel forked from the factory (``factory.py``) gets the same settings a cold one reads
from its command line (``-f CONNECTION_FILE --HistoryManager.enabled=False``), but as a
traitlets ``Config``: building traitlets' argument parser for ipykernel's hundreds of
options costs each kernel about 20 ms of CPU for two settings. The class is made in the
factory, which imports this module, so no kernel pays for making it either.
"""

from __future__ import annotations

import ast
import re

from ipykernel.kernelapp import IPKernelApp
from traitlets.config import Config

SETTING = re.compile(r"--([A-Za-z_]\w*)\.([A-Za-z_]\w*)=(.*)")


class WarmKernelApp(IPKernelApp):
    """IPKernelApp, with nothing to parse: its settings came in as config."""

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
