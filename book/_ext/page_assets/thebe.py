"""Switch sphinx-thebe off: jupyter-book 1.x always loads it, and this book does not use it.

Thebe runs a page's cells on a Binder, which cannot hold all three frameworks. Left on, it
adds to every page a script that loads thebe from a CDN, a configuration naming someone
else's Binder repository, and (through sphinx-doc/sphinx#13402 in Sphinx 7) a second copy
of ``const THEBE_JS_URL``, which the browser reports as an error.
"""

from __future__ import annotations

from sphinx.application import Sphinx

MODULE = "sphinx_thebe"


def switch_off(app: Sphinx) -> list[str]:
    """Disconnect every handler sphinx-thebe registered and drop its stylesheet."""
    removed = []
    for event, listeners in app.events.listeners.items():
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "") == MODULE:
                app.disconnect(listener.id)
                removed.append(f"{event}: {listener.handler.__name__}")
    app.registry.css_files = [
        (name, attrs) for name, attrs in app.registry.css_files if name != "sphinx-thebe.css"
    ]
    return removed


def setup(app: Sphinx) -> None:
    # jupyter-book lists sphinx_thebe before the book's own extensions, so it is set up.
    if MODULE in app.extensions:
        switch_off(app)
