"""The JupyterHub launch button opens the chapter's notebook of the reader's framework.

sphinx-book-theme's JupyterHub button would pull the repository and open the chapter's
MyST source, which holds all three frameworks' cells and runs in none. Ours offers one
entry per framework, each opening, through nbgitpuller, the framework notebook of the
chapter as the built book holds it (``_downloads/notebooks/``), from the branch of the
repository where the course publishes the built book (``page_assets_launch_branch``).
A page without framework notebooks gets no launch button.
"""

from __future__ import annotations

from urllib.parse import urlencode

from sphinx.application import Sphinx

from framework_tabs import build
from framework_tabs.cells import FRAMEWORKS

GROUP = "launch-buttons"  # the theme's label of its launch drop-down


def hub_url(hub: str, repository: str, branch: str, path: str) -> str:
    """An nbgitpuller link: pull `branch` of `repository` into the home folder, open `path`."""
    folder = repository.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urlencode(
        {"repo": repository, "branch": branch, "urlpath": f"lab/tree/{folder}/{path}"}, safe="/"
    )
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def framework_buttons(app: Sphinx, pagename: str) -> list[dict]:
    options = app.config.html_theme_options
    hub = options.get("launch_buttons", {}).get("jupyterhub_url", "")
    repository = options.get("repository_url", "")
    branch = app.config.page_assets_launch_branch
    files = build.pages(app.env).get(pagename)
    if not (hub and repository and branch and files and files.files):
        return []
    return [
        {
            "type": "link",
            "text": f"JupyterHub: {FRAMEWORKS[framework]}",
            "tooltip": f"Open this chapter's {FRAMEWORKS[framework]} notebook on JupyterHub",
            "icon": "_static/images/logo_jupyterhub.svg",
            "url": hub_url(hub, repository, branch, f"{build.DOWNLOADS}/{name}"),
        }
        for framework, name in files.files.items()
    ]


def replace_launch_buttons(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    buttons = context.get("header_buttons", [])
    group = next((b for b in buttons if b.get("label") == GROUP), None)
    if group is None:
        return
    ours = framework_buttons(app, pagename)
    others = [b for b in group["buttons"] if b.get("text") != "JupyterHub"]
    group["buttons"] = others + ours
    if not group["buttons"]:
        buttons.remove(group)


def setup(app: Sphinx) -> None:
    # The branch of the repository that holds the built book; empty: no launch button.
    app.add_config_value("page_assets_launch_branch", "", "html", types=[str])
    # After sphinx-book-theme has made its buttons (priority 501).
    app.connect("html-page-context", replace_launch_buttons, priority=502)
