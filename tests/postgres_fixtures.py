"""Kept for ``benchmarks/bench_grade.py``, which puts ``tests/`` on ``sys.path`` and imports
``throwaway_server`` from ``postgres_fixtures``; the code is in ``tests/helpers/``. Not a
pytest plugin: ``tests/conftest.py`` loads ``helpers.postgres_fixtures``."""
from helpers.postgres_fixtures import throwaway_server

__all__ = ["throwaway_server"]
