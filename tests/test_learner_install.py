"""Does a learner need only the notebook and one install? The wheel, in a fresh venv.

The wheel of ``learner/`` is installed into a new virtual environment outside the
repository (no frameworks: the notebook checked here is framework-free), and a released
notebook is checked there, from a folder of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.notebooks import with_answers
from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("learner-install")
    wheels = root / "wheels"
    # built from a copy: setuptools leaves build/ and egg-info beside the sources it builds
    source = root / "learner"
    shutil.copytree(
        REPO / "learner",
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
        cwd=root,
    )
    (wheel,) = wheels.glob("pmcheck-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    constraints = REPO / "constraints.txt"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(constraints), str(wheel)],
        check=True,
        capture_output=True,
        cwd=root,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    return root, python, wheel


def test_the_wheel_holds_nothing_of_the_instructors(venv):
    _, _, wheel = venv
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        text = "\n".join(archive.read(n).decode(errors="replace") for n in names)
    assert "pmcheck/exercises.json" in names and "pmcheck/cli.py" in names
    assert not any(n.startswith("autograder") for n in names)
    leaked = [line for line in _secret_lines() if line in text]
    assert not leaked, leaked[:3]


def _secret_lines() -> list[str]:
    """The course's hidden-test calls and the longer lines of its reference solutions."""
    from pmcheck import FRAMEWORKS

    lines = []
    for source in sorted((REPO / "exercises").glob("*.md")):
        inside = None
        for line in source.read_text().splitlines():
            marker = line.strip()
            if marker in ("### BEGIN HIDDEN TESTS", "### BEGIN SOLUTION"):
                inside = marker
            elif marker in ("### END HIDDEN TESTS", "### END SOLUTION"):
                inside = None
            elif inside == "### BEGIN HIDDEN TESTS" and ".check_" in marker:
                # each hidden call's first line (a continuation line may be just "x=3)")
                lines += [marker.replace("{{ framework }}", fw) for fw in FRAMEWORKS]
            elif inside == "### BEGIN SOLUTION" and len(marker) > 40:
                lines.append(marker)
    assert len(lines) > 40
    return lines


def test_a_released_notebook_is_checked_in_a_fresh_venv(venv, tmp_path):
    root, python, _ = venv
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    nb = course.released_notebook("squares", "squares_pytorch")
    home = tmp_path / "home"
    home.mkdir()
    path = home / "squares_pytorch.ipynb"
    nbformat.write(
        with_answers(
            nb,
            {
                "square_answer": "def square(x):\n    return x * x",
                "cube_answer": "def cube(x):\n    return x + 1",
            },
        ),
        path,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [str(python.parent / "pmcheck"), path.name],
        capture_output=True,
        text=True,
        cwd=home,
        env=env,
        timeout=300,
    )
    assert "passed   square_is_correct" in result.stdout, result.stdout + result.stderr
    assert "FAILED   cube_is_correct    0 of 1 point: cube(2) should be 8; got 3" in result.stdout
    assert result.returncode == 1
    # nothing of the instructor's came along
    probe = subprocess.run(
        [str(python), "-c", "import autograder"], capture_output=True, cwd=home, env=env
    )
    assert probe.returncode != 0
