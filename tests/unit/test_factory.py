"""The factory's conversation loop, with jobs it refuses (so no kernel and no framework)."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest

from autograder import factory

BAD_JOB = json.dumps({"job": 1, "argv": ["--"]}).encode()  # no channel socket: refused


@pytest.fixture
def listening(tmp_path):
    """A listening factory (as the kernel service runs it) in a child process of its own."""
    path = str(tmp_path / "factory.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(8)
    pid = os.fork()
    if pid == 0:  # the factory
        try:
            factory.serve(None, listener, idle=60)
        finally:
            os._exit(0)
    listener.close()
    yield path
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(10)
    sock.connect(path)
    assert json.loads(sock.recv(factory.MAX_MESSAGE))["ready"] is True
    return sock


def test_a_bad_job_is_answered_with_its_error(listening):
    with connect(listening) as grader:
        grader.send(BAD_JOB)
        answer = json.loads(grader.recv(factory.MAX_MESSAGE))
    assert answer["job"] == 1 and "exactly one channel socket" in answer["error"]


def test_a_grader_that_stops_reading_does_not_stop_the_others(listening):
    with connect(listening) as stalled, connect(listening) as other:
        # Jobs sent and their answers never read: the answers fill the stalled grader's queue.
        sent = 0
        stalled.settimeout(0.5)
        try:
            for sent in range(1, 20000):
                stalled.send(BAD_JOB)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the factory ended the conversation, or stopped reading it
        assert sent > 100
        other.send(BAD_JOB)  # answered, not left waiting (recv gives up after 10 s)
        assert "error" in json.loads(other.recv(factory.MAX_MESSAGE))
        # The stalled grader's conversation is over: after what was queued, the socket is closed.
        stalled.settimeout(10)
        received = 0
        while stalled.recv(factory.MAX_MESSAGE):
            received += 1
        assert 0 < received < sent
