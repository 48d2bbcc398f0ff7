"""What the "Install and run" page states, read from the files that decide it, never typed.

- ``{pinned-versions}``: a table of the pins of requirements.txt that a reader installs;
- ``{clone-commands}``: git clone of the configured repository URL, then the two commands;
- ``{learner-wheel}``: a link to the wheel of the learner's checker, pmcheck, and the pip
  command for each framework. A learner at home needs only a student notebook and this
  wheel, no clone. The build makes the wheel from ``learner/`` (a copy of it, so that the
  source tree gets no build folders) into ``_downloads/pmcheck/`` of the HTML.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

from framework_tabs.cells import FRAMEWORKS

ROOT = Path(__file__).resolve().parents[2]
LEARNER = ROOT / "learner"
REQUIREMENTS = ROOT / "requirements.txt"
TARGET = "_downloads/pmcheck"  # under the HTML folder


def project(folder: Path = LEARNER) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def wheel_name(project: Path = LEARNER) -> str:
    """The file name pip gives the wheel of the project: name-version-py3-none-any.whl."""
    meta = globals()["project"](project)
    name = meta["name"].replace("-", "_").lower()
    return f"{name}-{meta['version']}-py3-none-any.whl"


def _newest(folder: Path) -> float:
    return max(
        (
            p.stat().st_mtime
            for p in folder.rglob("*")
            if p.is_file()
            and "__pycache__" not in p.parts
            and not any(part.endswith(".egg-info") for part in p.parts)
        ),
        default=0.0,
    )


def build_wheel(outdir: Path, project: Path = LEARNER) -> Path:
    """The project's wheel in outdir/_downloads/pmcheck, built again only if it is older."""
    target = outdir / TARGET
    wheel = target / wheel_name(project)
    if wheel.is_file() and wheel.stat().st_mtime >= _newest(project):
        return wheel
    with tempfile.TemporaryDirectory(prefix="pmcheck-wheel-") as tmp:
        copy = Path(tmp) / "learner"
        shutil.copytree(
            project,
            copy,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"),
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "--quiet",
                str(copy),
                "-w",
                str(Path(tmp) / "dist"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        built = Path(tmp) / "dist" / wheel.name
        if result.returncode != 0 or not built.is_file():
            raise ExtensionError(f"pip wheel {project} failed:\n{result.stdout}{result.stderr}")
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*.whl"):
            old.unlink()
        shutil.copyfile(built, wheel)
    return wheel


class LearnerWheel(SphinxDirective):
    """A link to the wheel of pmcheck in the build and the pip command for each extra."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        name = wheel_name()
        depth = self.env.docname.count("/")
        uri = "../" * depth + f"{TARGET}/{name}"
        link = nodes.reference(
            "", "", nodes.literal(name, name), refuri=uri, classes=["learner-wheel"]
        )
        intro = nodes.paragraph(
            "",
            "",
            nodes.Text("Download "),
            link,
            nodes.Text(
                " and, in the folder it was saved to, install it " "with the framework you study:"
            ),
        )
        extras = project().get("optional-dependencies", {})
        commands = "\n".join(
            f'pip install "{name}[{extra}]"    # {FRAMEWORKS.get(extra, extra)}' for extra in extras
        )
        block = nodes.literal_block(commands, commands, language="bash")
        return [intro, block]


def pins(requirements: Path = REQUIREMENTS) -> list[tuple[str, str]]:
    """(package, version) for each `name==version` line of a requirements file."""
    found = []
    for line in requirements.read_text().splitlines():
        requirement = line.partition("#")[0].strip()
        if "==" in requirement:
            name, version = (part.strip() for part in requirement.split("=="))
            found.append((name, version))
    return found


class PinnedVersions(SphinxDirective):
    """A table of the packages requirements.txt pins, with their versions."""

    def run(self) -> list[nodes.Node]:
        table = nodes.table(classes=["pinned-versions"])
        group = nodes.tgroup(cols=2)
        table += group
        for width in (1, 1):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row("package", "version")
        body = nodes.tbody()
        group += body
        for name, version in pins():
            body += self._row(name, version, literal=True)
        self.env.note_dependency(str(REQUIREMENTS))
        return [table]

    @staticmethod
    def _row(*cells: str, literal: bool = False) -> nodes.row:
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            inline = nodes.literal(text, text) if literal else nodes.Text(text)
            entry += nodes.paragraph("", "", inline)
            row += entry
        return row


def repository(config) -> tuple[str, str]:
    """The repository URL the book is configured with, and the folder a clone makes."""
    url = config.html_theme_options.get("repository_url", "").rstrip("/")
    if not url:
        raise ExtensionError("repository.url is not set in _config.yml")
    return url, url.rsplit("/", 1)[-1].removesuffix(".git")


class CloneCommands(SphinxDirective):
    """git clone of the configured repository, then the book's two commands."""

    def run(self) -> list[nodes.Node]:
        url, folder = repository(self.config)
        commands = (
            f"git clone {url}\ncd {folder}\n"
            "make book    # makes .venv, installs requirements.txt, builds the book\n"
            "make test    # runs every test"
        )
        return [nodes.literal_block(commands, commands, language="bash")]


def after_build(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        build_wheel(Path(app.outdir))


def setup(app: Sphinx) -> dict:
    app.add_directive("learner-wheel", LearnerWheel)
    app.add_directive("pinned-versions", PinnedVersions)
    app.add_directive("clone-commands", CloneCommands)
    app.connect("build-finished", after_build)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
