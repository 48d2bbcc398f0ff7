"""Starting our commands without the second jsonschema spends on a grammar they never use.

nbformat validates notebooks with jsonschema, and jsonschema, as it is imported, imports
``rfc3987_syntax`` to check strings of the "iri" format -- which builds a Lark grammar of
RFC 3987: 1.2 s of every ``pmcheck`` and ``python -m autograder`` run, before anything else
happens. No notebook schema has an "iri" field. :func:`defer_iri_grammar` puts a stand-in
module in its place whose ``is_valid_syntax`` imports the real module on its first call, so
nothing changes but when the grammar is built (never, for notebooks).
"""

from __future__ import annotations

import sys
import types

NAME = "rfc3987_syntax"


class _StandIn(types.ModuleType):
    """``rfc3987_syntax`` until something needs it; then the real module, everywhere."""

    @staticmethod
    def is_valid_syntax(*args, **kwargs):
        return _real().is_valid_syntax(*args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):  # what the import system asks of every module
            raise AttributeError(name)
        return getattr(_real(), name)


def _real() -> types.ModuleType:
    if isinstance(sys.modules.get(NAME), _StandIn):
        del sys.modules[NAME]
    import importlib

    return importlib.import_module(NAME)


def defer_iri_grammar() -> None:
    """Call before the first import of nbformat (or jsonschema); later, it changes nothing."""
    if NAME in sys.modules or "jsonschema" in sys.modules:
        return
    import importlib.util

    if importlib.util.find_spec(NAME) is not None:
        sys.modules[NAME] = _StandIn(NAME)
