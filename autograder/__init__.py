"""Grading, feedback and self-check for the Parameter Management course, around nbgrader."""
