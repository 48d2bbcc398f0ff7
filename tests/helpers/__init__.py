"""Code the tests share: fixtures (loaded as plugins by ``tests/conftest.py``), tables of
wrong answers, readers of the built book, runners. No test module imports another test
module; whatever two of them need lives here, imported as ``helpers.<module>`` (pytest puts
``tests/`` on ``sys.path`` for ``tests/conftest.py``, in a fresh clone as in ``make test``).
"""
