"""Printed output leaves the kernel in pieces the grader takes (autograder/output_pieces.py)."""

from __future__ import annotations

from autograder.kernel import MESSAGE_BYTES
from autograder.output_pieces import PIECE, bound


class Stream:
    """ipykernel's OutStream as the extension sees it: write buffers, flush sends."""

    def __init__(self) -> None:
        self.buffer, self.sent = "", []

    def write(self, string: str) -> int:
        self.buffer += string
        return len(string)

    def flush(self) -> None:
        if self.buffer:
            self.sent.append(self.buffer)
        self.buffer = ""


def test_a_long_string_and_many_short_ones_leave_in_pieces_of_at_most_a_piece():
    stream = Stream()
    assert bound(stream) is True
    assert stream.write("x" * (3 * PIECE + 5)) == 3 * PIECE + 5
    for _ in range(PIECE // 1000 + 1):
        stream.write("y" * 1000)
    stream.flush()
    assert "".join(stream.sent) == "x" * (3 * PIECE + 5) + "y" * (1000 * (PIECE // 1000 + 1))
    assert max(len(piece) for piece in stream.sent) <= PIECE < MESSAGE_BYTES // 4


def test_short_output_is_left_to_the_kernels_own_flushing():
    stream = Stream()
    bound(stream)
    stream.write("loss 0.25\n")
    assert stream.sent == [] and stream.buffer == "loss 0.25\n"


def test_a_stream_is_bounded_once():
    stream = Stream()
    assert bound(stream) is True
    assert bound(stream) is False
