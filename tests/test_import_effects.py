"""What importing our packages does, and does not: each case in a fresh interpreter.

pmcheck.lazy: our commands import nbformat without jsonschema's IRI grammar, and lose
nothing. autograder.course: importing it leaves PATH alone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_the_grader_builds_no_grammar_and_validates_notebooks():
    out = run("""
        import sys
        import autograder, nbformat
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
        nbformat.validate(nb)
        try:
            nbformat.validate({"nbformat": 4})
        except nbformat.ValidationError:
            print("invalid refused")
        print(type(sys.modules["rfc3987_syntax"]).__name__, "lark" in sys.modules)
        """)
    assert out.split("\n")[:2] == ["invalid refused", "_StandIn False"]


def test_iri_checks_still_work_and_load_the_real_module():
    out = run("""
        import sys
        import autograder
        from jsonschema import FormatChecker
        checker = FormatChecker()
        print(checker.conforms("https://example.org/päth", "iri"),
              checker.conforms("not an iri", "iri"))
        import rfc3987_syntax
        print(type(sys.modules["rfc3987_syntax"]).__name__, callable(rfc3987_syntax.is_valid_syntax))
        """)
    assert out.split("\n")[:2] == ["True False", "module True"]


def test_after_jsonschema_it_changes_nothing():
    out = run("""
        import sys
        import jsonschema
        from pmcheck.lazy import defer_iri_grammar
        defer_iri_grammar()
        print(type(sys.modules.get("rfc3987_syntax")).__name__)
        """)
    assert out.strip() == "module"


@pytest.mark.parametrize("deferred", [True, False])
def test_the_grammar_is_built_exactly_when_not_deferred(deferred):
    """The grammar (Lark) is imported exactly when the stand-in is not in place."""
    code = (
        "from pmcheck.lazy import defer_iri_grammar; defer_iri_grammar()\n" if deferred else ""
    ) + "import nbformat, sys; print('lark' in sys.modules)"
    assert run(code).strip() == str(not deferred)


def test_importing_the_grader_leaves_path_alone():
    """Only nbgrader's view of a course (Course.coursedir) puts the venv's scripts on PATH."""
    out = run("""
        import os, sys
        os.environ["PATH"] = "/usr/bin:/bin"
        import autograder.cli, autograder.course, autograder.grade
        print(os.environ["PATH"])
        from autograder.course import DEFAULT_COURSE, Course
        Course.open(DEFAULT_COURSE).coursedir()
        print(os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable))
        """)
    assert out.split("\n")[:2] == ["/usr/bin:/bin", "True"]
