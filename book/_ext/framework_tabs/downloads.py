"""Offer each page's framework notebooks, exactly as they ran, and a zip per framework.

The notebooks are the ones assembled when the page was read (its text, its framework's
cells and their outputs). They are linked under the page title and from the theme's own
download button, which offers them instead of the page's MyST source.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

from . import build
from .build import DOWNLOADS
from .cells import FRAMEWORKS
from .execute import write_if_changed

ZIPS = "_downloads"


def zip_name(app: Sphinx, framework: str) -> str:
    return f"{app.config.framework_tabs_zip}-{framework}.zip"


def book_frameworks(app: Sphinx) -> list[str]:
    """The frameworks that have a notebook on some page, in tab order."""
    found = {fw for record in build.pages(app.env).values() for fw in record.frameworks}
    return [framework for framework in FRAMEWORKS if framework in found]


def _links(para: nodes.paragraph, up: str, targets: list[tuple[str, str]]) -> None:
    for i, (label, uri) in enumerate(targets):
        if i:
            para += nodes.Text(" · ")
        para += nodes.reference(label, label, refuri=f"{up}{uri}")


class DownloadLinks(SphinxTransform):
    """A line under the page title linking its framework notebooks and the zips."""

    default_priority = 510

    def apply(self, **kwargs) -> None:
        record = build.pages(self.env).get(self.env.docname)
        title = next(self.document.findall(nodes.title), None)
        if record is None or not record.frameworks or title is None:
            return
        up = "../" * self.env.docname.count("/")
        para = nodes.paragraph(classes=["framework-downloads"])
        para += nodes.Text("Download this page as a notebook: ")
        _links(
            para,
            up,
            [(FRAMEWORKS[fw], f"{DOWNLOADS}/{record.files[fw]}") for fw in record.frameworks],
        )
        para += nodes.Text(". Every chapter's notebooks in a zip: ")
        _links(
            para,
            up,
            [(FRAMEWORKS[fw], f"{ZIPS}/{zip_name(self.app, fw)}") for fw in record.frameworks],
        )
        para += nodes.Text(".")
        title.parent.insert(title.parent.index(title) + 1, para)


def header_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """The theme's download button: this page's framework notebooks and the zips, no .md."""
    group = next(
        (
            button
            for button in context.get("header_buttons", [])
            if button.get("label") == "download-buttons"
        ),
        None,
    )
    if group is None:
        return
    pathto = context["pathto"]
    record = build.pages(app.env).get(pagename)
    offered = []
    for framework in record.frameworks if record else ():
        label = FRAMEWORKS[framework]
        offered.append(
            {
                "type": "link",
                "url": pathto(f"{DOWNLOADS}/{record.files[framework]}", 1),
                "text": f"{label} .ipynb",
                "tooltip": f"Download this page as a {label} notebook, with its outputs",
                "icon": "fas fa-code",
                "label": f"download-{framework}-notebook-button",
            }
        )
    for framework in book_frameworks(app):
        label = FRAMEWORKS[framework]
        offered.append(
            {
                "type": "link",
                "url": pathto(f"{ZIPS}/{zip_name(app, framework)}", 1),
                "text": f"All {label} .zip",
                "tooltip": f"Download every chapter as a {label} notebook, in one zip",
                "icon": "fas fa-file-archive",
                "label": f"download-{framework}-zip-button",
            }
        )
    kept = [
        button
        for button in group["buttons"]
        if button.get("label") not in ("download-source-button", "download-notebook-button")
    ]
    group["buttons"] = offered + kept


def write(app: Sphinx, exception: Exception | None) -> None:
    """Put every page's framework notebooks next to the HTML, and a zip per framework."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    records = build.pages(app.env)
    per_framework: dict[str, list[tuple[str, Path]]] = {}
    for docname in sorted(records):
        for framework, name in records[docname].files.items():
            source = build.assembled(app, name)
            if not source.is_file():
                continue
            target = outdir / DOWNLOADS / name
            write_if_changed(target, source.read_text(encoding="utf-8"))
            per_framework.setdefault(framework, []).append((f"{DOWNLOADS}/{name}", target))
    for framework, files in per_framework.items():
        # Other extensions add files the notebooks link to (the exercises' student notebooks).
        for extra in app.emit("framework-tabs-zip-files", framework):
            files += [(path, outdir / path) for path in extra or []]
        write_zip(outdir / ZIPS / zip_name(app, framework), files)


def write_zip(path: Path, files: list[tuple[str, Path]]) -> None:
    """A zip whose bytes depend only on its files, rewritten only when they change."""
    top = path.stem
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative, file in sorted(set(files)):
            if not file.is_file():
                continue
            arcname = posixpath.join(top, posixpath.relpath(relative, ZIPS))
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes())
    data = buffer.getvalue()
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def setup(app: Sphinx) -> None:
    app.add_config_value("framework_tabs_zip", "notebooks", "html", types=[str])
    # (framework) -> paths under the HTML folder to put into that framework's zip
    app.add_event("framework-tabs-zip-files")
    app.add_transform(DownloadLinks)
    # After the theme has made its buttons (priority 501).
    app.connect("html-page-context", header_buttons, priority=600)
    # After other extensions have written the files they add to the zips.
    app.connect("build-finished", write, priority=700)
