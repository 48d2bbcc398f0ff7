"""Answer checks that the exercise notebooks' test cells call, one module per assignment.

Each check takes the learner's function (or class) and the framework, calls it on inputs
of its own, computes the truth independently and raises ``AssertionError`` with a
plain-words message when the answer is wrong. Hidden tests call the ``*_random`` variants,
which draw fresh inputs on every run: reading this code does not help to pass them.
"""
