"""Grading, feedback and self-check for the Parameter Management course, around nbgrader."""

from pmcheck.lazy import defer_iri_grammar

defer_iri_grammar()  # every command reads notebooks: 1.2 s less to start (see pmcheck.lazy)
