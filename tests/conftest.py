"""Shared pytest set-up: the fixtures of the course and of the built book."""

import os
import shutil
import tempfile

# MindSpore logs [WARNING] lines to stderr unless told not to; kernels inherit this.
os.environ.setdefault("GLOG_v", "3")

# A kernel service the developer runs (``autograder factory start``) must not serve the
# tests: their services, if any, live in a folder of this run, removed at its end.
_SERVICE_DIR = tempfile.mkdtemp(prefix="autograder-tests-service-")
os.environ["AUTOGRADER_RUNTIME_DIR"] = _SERVICE_DIR

pytest_plugins = ["helpers.course_fixtures", "helpers.book_fixtures", "helpers.postgres_fixtures"]


def pytest_unconfigure(config):
    from autograder import service

    if os.environ.get("AUTOGRADER_RUNTIME_DIR") == _SERVICE_DIR:
        service.stop()
    shutil.rmtree(_SERVICE_DIR, ignore_errors=True)
