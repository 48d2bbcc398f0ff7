"""``python -m autograder``'s command line, parsed: no command is run."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import cli
from autograder.cli import parser


def parse(*argv: str):
    return parser().parse_args(list(argv))


def refused(capsys, *argv: str) -> str:
    """The one error line argparse gives for ``argv`` (it exits with status 2)."""
    with pytest.raises(SystemExit) as stop:
        parse(*argv)
    assert stop.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_grade_takes_every_option_with_its_type():
    args = parse(
        "grade",
        "tying",
        "--course",
        "c",
        "--student",
        "ann",
        "--student",
        "bob",
        "--workers",
        "3",
        "--cell-timeout",
        "2.5",
        "--release",
        "--cold",
        "--scheduler",
        "tcp://host:8786",
        "--no-sandbox",
    )
    assert (args.verb, args.func, args.name) == ("grade", cli.grade, "tying")
    assert args.course == Path("c") and args.students == ["ann", "bob"]
    assert (args.workers, args.cell_timeout) == (3, 2.5)
    assert (args.release, args.cold, args.no_sandbox) == (True, True, True)
    assert args.scheduler == "tcp://host:8786"


def test_grade_defaults_leave_the_choices_to_the_course():
    args = parse("grade", "tying_mxnet")
    assert (args.course, args.students, args.workers, args.cell_timeout, args.scheduler) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert (args.release, args.cold, args.no_sandbox) == (False, False, False)


@pytest.mark.parametrize(
    "argv, words",
    [
        (("--workers", "0"), "argument --workers: must be at least 1"),
        (("--workers", "two"), "argument --workers: invalid _positive_int value: 'two'"),
        (("--cell-timeout", "0"), "argument --cell-timeout: must be positive"),
        (("--cell-timeout", "-1.5"), "argument --cell-timeout: must be positive"),
    ],
)
def test_a_count_or_time_that_is_not_positive_is_refused(capsys, argv, words):
    assert refused(capsys, "grade", "tying", *argv).endswith(words)


def test_release_takes_any_number_of_names():
    assert parse("release").names == []
    assert parse("release", "tying", "access_mxnet").names == ["tying", "access_mxnet"]
    assert parse("release").func is cli.release


def test_feedback_and_export_and_sources():
    assert (parse("feedback", "tying").name, parse("feedback", "tying").func) == (
        "tying",
        cli.feedback,
    )
    args = parse("export", "--to", "out/grades.csv", "--course", "course")
    assert (args.to, args.course, args.func) == (Path("out/grades.csv"), Path("course"), cli.export)
    assert parse("export").to is None
    assert parse("sources").func is cli.sources


def test_check_takes_a_notebook_and_no_course():
    args = parse("check", "tying_mxnet.ipynb")
    assert (args.notebook, args.func) == (Path("tying_mxnet.ipynb"), cli.check)
    assert not hasattr(args, "course")


def test_a_command_is_required_and_unknown_ones_are_refused(capsys):
    assert "required: COMMAND" in refused(capsys)
    assert "invalid choice: 'grde'" in refused(capsys, "grde", "tying")
    assert "unrecognized arguments: --course x" in refused(
        capsys, "check", "a.ipynb", "--course", "x"
    )


def test_a_course_that_is_not_there_is_one_error_line_and_status_2(tmp_path, capsys):
    assert cli.main(["export", "--course", str(tmp_path / "nowhere")]) == 2
    assert (
        capsys.readouterr().err
        == f"autograder: error: no course directory at {tmp_path / 'nowhere'}\n"
    )
