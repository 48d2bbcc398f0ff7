"""Shared pytest set-up: the fixtures of the course and of the built book."""

import os

# MindSpore logs [WARNING] lines to stderr unless told not to; kernels inherit this.
os.environ.setdefault("GLOG_v", "3")

pytest_plugins = ["helpers.course_fixtures", "helpers.book_fixtures", "helpers.postgres_fixtures"]
