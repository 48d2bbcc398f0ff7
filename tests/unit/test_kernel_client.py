"""The grader's side of a kernel: message dates read as jupyter_client reads them, and
no cell sent to a sandboxed kernel whose /run is not sealed."""

from __future__ import annotations

import asyncio
import datetime
import types
import warnings

import nbformat
import pytest
from jupyter_client.jsonutil import extract_dates as theirs

from autograder.kernel import extract_dates as ours

HEADERS = [
    {"msg_id": "a1b2", "date": "2026-12-03T07:45:12.123456Z", "version": "5.3"},
    {"date": "2026-12-03T07:45:12Z", "session": "2026-12-03"},  # a date, and only a day
    {"date": "2026-12-03T07:45:12.1+01:00"},
    {"date": "2026-12-03T07:45:12.123-0530"},
    {"nested": [{"date": "2026-12-03T07:45:12.000001+00:00"}, ("x", 3, None)]},
    {"date": "2026-13-03T07:45:12Z"},  # matches the pattern, is no date: theirs raises
    {"not a date": "07:45", "number": 1.5, "flag": True, "empty": {}},
]


@pytest.mark.parametrize("header", HEADERS)
def test_the_same_date_as_jupyter_client_and_nothing_else_read(header):
    try:
        expected = theirs(header)
    except ValueError:
        with pytest.raises(ValueError):
            ours(header)
        return
    mine = ours(header)
    assert mine.keys() == header.keys()
    for key, value in mine.items():
        # the header's own date as jupyter_client reads it; the rest as it came
        assert value == (expected[key] if key == "date" else header[key]), key
    if "date" in header:
        assert mine["date"].utcoffset() == expected["date"].utcoffset()


def test_a_header_full_of_dates_costs_one_date():
    header = {"date": "2026-12-03T07:45:12Z", "junk": ["2026-12-03T07:45:12Z"] * 200_000}
    mine = ours(header)
    assert isinstance(mine["date"], datetime.datetime)
    assert mine["junk"] is header["junk"]  # not walked, not copied


def test_a_naive_date_is_left_to_jupyter_client_which_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        date = ours({"date": "2026-12-03T07:45:12.5"})["date"]
    assert date.tzinfo is not None and any("naive" in str(w.message) for w in caught)


def test_the_same_pattern_as_jupyter_client():
    from jupyter_client.jsonutil import ISO8601_PAT

    from autograder.kernel import _ISO8601

    assert _ISO8601.pattern == ISO8601_PAT.pattern


def test_no_cell_runs_in_a_sandbox_whose_run_was_not_sealed():
    from autograder.execute import _Client
    from autograder.kernel import Limits

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    km = types.SimpleNamespace(provisioner=types.SimpleNamespace(sealed=False))
    with pytest.raises(RuntimeError, match="not sealed"):
        asyncio.run(_Client(nb, km, Limits()).async_execute_cell(nb.cells[0], 0))


def test_the_grader_takes_bounded_messages_and_queues_from_a_kernel(tmp_path):
    """Set before connecting: a kernel's flood waits in its own memory, not the grader's."""
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    from autograder.kernel import IOPUB_QUEUE, MESSAGE_BYTES, _client_class

    km = AsyncKernelManager(connection_file=str(tmp_path / "kernel.json"))
    km.client_factory = _client_class()
    km.write_connection_file()
    client = km.client()
    client.start_channels(hb=False)  # no heartbeat thread, which would race the stop
    try:
        sockets = {
            "iopub": client.iopub_channel.socket,
            "shell": client.shell_channel.socket,
            "stdin": client.stdin_channel.socket,
        }
        for name, sock in sockets.items():
            assert sock.getsockopt(zmq.MAXMSGSIZE) == MESSAGE_BYTES, name
        assert sockets["iopub"].getsockopt(zmq.RCVHWM) == IOPUB_QUEUE
        assert sockets["shell"].getsockopt(zmq.RCVHWM) == 1000
    finally:
        client.stop_channels()
        km.cleanup_connection_file()
