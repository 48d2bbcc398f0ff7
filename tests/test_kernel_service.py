"""The kernel service (``autograder factory start``): warm factories that outlive a grade run.

Grading must fork every kernel from the running service (no factory of its own, no
import of a framework), one run after another, and fall back to factories of its own when
the service dies mid-batch; the service answers its own user only, and goes when idle or
told to.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from autograder import cli, service
from autograder.notebooks import with_answers
from helpers.course_fixtures import FIXTURE_COURSE, CourseCopy, refuse_own_factories

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

WRONG = "def square(x):\n    return x + x"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A service folder of this test's own; whatever started there is stopped after."""
    path = tmp_path / "rt"
    monkeypatch.setenv("AUTOGRADER_RUNTIME_DIR", str(path))
    yield path
    service.stop()


def test_grading_forks_every_kernel_from_the_service_run_after_run(
    tmp_path, folder, monkeypatch, capsys
):
    [started] = service.start([()], idle=600)  # the fixture course imports no framework
    refuse_own_factories(monkeypatch)
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    solution = course.solution_submission("squares", "squares_pytorch")
    course.submit("honest", "squares", "squares_pytorch", solution)
    course.submit(
        "wrong", "squares", "squares_pytorch", with_answers(solution, {"square_answer": WRONG})
    )
    for _ in range(2):  # a second run finds the same service
        results = {r.student: r for r in course.grade("squares", workers=2)}
        assert (results["honest"].score, results["honest"].problems) == (3, [])
        assert results["wrong"].score < results["wrong"].max_score
        assert [s.pid for s in service.running()] == [started.pid]

    assert cli.main(["factory", "status"]) == 0
    assert "serves this checkout" in capsys.readouterr().out
    assert cli.main(["factory", "stop"]) == 0
    assert service.running() == []
    assert cli.main(["factory", "status"]) == 0
    assert "no kernel service runs" in capsys.readouterr().out
    _wait_gone(started.pid)


def test_a_service_of_other_code_is_left_alone(tmp_path, folder):
    [started] = service.start([()], idle=600)
    current = started.path
    older = current.with_name(current.name.replace(service.version(), "0" * 16))
    current.rename(older)  # as if this checkout's code had changed since it started
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    course.submit(
        "honest",
        "squares",
        "squares_pytorch",
        course.solution_submission("squares", "squares_pytorch"),
    )
    [result] = course.grade("squares")
    assert (result.score, result.problems) == (3, [])
    [found] = service.running()
    assert (found.pid, found.current) == (started.pid, False)


def test_a_service_killed_mid_batch_hands_its_notebooks_to_a_factory_of_our_own(tmp_path, folder):
    import signal
    import threading

    from autograder.kernel import Limits

    [started] = service.start([()], idle=600)
    course = CourseCopy(FIXTURE_COURSE, tmp_path / "course")
    solution = course.solution_submission("squares", "squares_pytorch")
    slow = "import time\ntime.sleep(3)\ndef square(x):\n    return x * x"
    students = [f"s{i}" for i in range(4)]
    for student in students:
        course.submit(
            student, "squares", "squares_pytorch", with_answers(solution, {"square_answer": slow})
        )

    def kill_once_busy():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (course.root / "autograded").exists():
            time.sleep(0.2)
        os.kill(started.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_busy)
    killer.start()
    results = course.grade("squares", workers=2, limits=Limits(cell_timeout=30))
    killer.join()
    assert [r.student for r in results] == students
    assert [(r.score, r.problems) for r in results] == [(3, [])] * 4
    [found] = service.running()
    assert found.pid is None  # its socket is stale; start cleans it up
    [again] = service.start([()], idle=600)
    assert again.pid not in (None, started.pid)


def test_the_service_answers_no_other_user(monkeypatch):
    import shutil
    import tempfile

    if os.getuid() != 0:
        pytest.skip("needs root, to connect as another user")
    # directly below /tmp: pytest's own folders are closed to other users
    folder = Path(tempfile.mkdtemp(prefix="autograder-service-test-"))
    monkeypatch.setenv("AUTOGRADER_RUNTIME_DIR", str(folder))
    try:
        _answers_no_other_user(folder)
    finally:
        folder.chmod(0o700)  # else stop() would refuse the folder too
        service.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _answers_no_other_user(folder: Path) -> None:
    [started] = service.start([()], idle=600)
    # Open the two outer locks (the folder's mode, the socket's) to try the third.
    folder.chmod(0o711)
    started.path.chmod(0o666)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # as nobody: connect and report what the service said
        try:
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            sock.settimeout(10)
            sock.connect(str(started.path))
            os.write(write, b"said:" + sock.recv(1 << 16))
        except BaseException as error:  # noqa: BLE001
            os.write(write, f"error:{error}".encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    answer = os.read(read, 1 << 16)
    assert answer == b"said:", answer  # connected, and closed without a word
    own = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    own.connect(str(started.path))
    assert json.loads(own.recv(1 << 16)) == {"ready": True, "pid": started.pid}
    own.close()


def test_grade_talks_to_no_service_of_another_user(monkeypatch):
    """Another user may slip a folder of theirs into place: the peer's uid still tells."""
    import shutil
    import tempfile

    if os.getuid() != 0:
        pytest.skip("needs root, to serve as another user")
    folder = Path(tempfile.mkdtemp(prefix="autograder-fake-service-"))
    folder.chmod(0o777)
    path = folder / "fake.sock"
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # as nobody: a "service" that says it is ready and names a pid to kill
        try:
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            server.bind(str(path))
            os.chmod(path, 0o666)
            server.listen(4)
            os.write(write, b"up")
            server.settimeout(30)
            for _ in range(2):
                conn, _ = server.accept()
                conn.send(json.dumps({"ready": True, "pid": 1}).encode())
                conn.close()
        finally:
            os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 2) == b"up"
        monkeypatch.setattr(service, "socket_path", lambda frameworks, create=True: path)
        assert service.connect(("pytorch",)) is None
        assert service._hello(path) is None
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
        shutil.rmtree(folder, ignore_errors=True)


def test_an_idle_service_exits_and_removes_its_socket(folder):
    [started] = service.start([()], idle=0.5)
    _wait_gone(started.pid)
    assert not started.path.exists()
    assert service.running() == []


def _wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} still runs")
