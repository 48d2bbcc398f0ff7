"""An IPython extension of the graded kernels: printed output leaves in pieces of a MiB.

ipykernel sends what a cell prints every 0.2 s, as one message, however much it is: a cell
that prints in a loop sends messages of a hundred megabytes. The grader takes no message
part above ``kernel.MESSAGE_BYTES`` (a larger one would sit in its memory, and a flood of
them would take the whole grading run down), so such a message would be lost, and with it
the grader's count of the output, which stops the cell at the notebook's output limit.
Flushed each MiB, and a longer string written in pieces, the output arrives in messages the
grader takes, counts and cuts at the limit.

Loaded with ``--IPKernelApp.extensions=[..., 'autograder.output_pieces']`` (``kernel.py``).
"""

from __future__ import annotations

import sys

#: Characters written to a stream between two flushes, at most (one message each).
PIECE = 1 << 20


def bound(stream) -> bool:
    """Make ``stream.write`` flush every ``PIECE`` characters; False if it cannot."""
    write, flush = getattr(stream, "write", None), getattr(stream, "flush", None)
    if write is None or flush is None or getattr(stream, "_in_pieces", False):
        return False
    pending = 0

    def write_in_pieces(string):
        nonlocal pending
        if not isinstance(string, str):
            return write(string)  # the stream's own error
        rest = string
        while len(rest) + pending >= PIECE:
            room = PIECE - pending
            write(rest[:room])
            flush()
            pending, rest = 0, rest[room:]
        if rest:
            write(rest)
            pending += len(rest)
        return len(string)

    try:
        stream.write = write_in_pieces
        stream._in_pieces = True
    except (AttributeError, TypeError):
        return False
    return True


def load_ipython_extension(shell) -> None:
    bound(sys.stdout)
    bound(sys.stderr)
