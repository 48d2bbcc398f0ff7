"""Do the commands of the README's "Grading a large class" exist as written?"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Grading a large class")
    return text[start : text.index("\n## ", start)]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), flags=re.S)


def commands() -> list[list[str]]:
    lines = [line.split("#")[0].strip() for block in blocks("bash") for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line]


def test_the_grade_command_parses_with_its_scheduler():
    from autograder.cli import parser

    (grade,) = [argv for argv in commands() if argv[:3] == [".venv/bin/python", "-m", "autograder"]]
    args = parser().parse_args(grade[3:])
    assert (args.verb, args.name, args.scheduler) == ("grade", "tying", "tcp://HOST:8786")


def test_the_dask_commands_take_the_options_shown():
    dask = Path(sys.executable).with_name("dask")
    shown = [argv for argv in commands() if argv[0] == ".venv/bin/dask"]
    assert [argv[1] for argv in shown] == ["scheduler", "worker"]
    for argv in shown:
        help_text = subprocess.run(
            [str(dask), argv[1], "--help"], capture_output=True, text=True, check=True, timeout=120
        ).stdout
        for option in (arg for arg in argv[2:] if arg.startswith("--")):
            assert option in help_text, f"dask {argv[1]} has no {option}"


def test_the_db_url_line_is_nbgrader_config_for_postgres():
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.engine import make_url
    from traitlets.config import Config

    (config_block,) = blocks("python")
    c = Config()
    exec(config_block, {"c": c})  # noqa: S102 -- our own README's two lines
    url = make_url(CourseDirectory(config=c).db_url)
    assert (url.get_backend_name(), url.get_driver_name()) == ("postgresql", "psycopg2")
    __import__("psycopg2")  # the driver it names is installed
