"""The kernel service's folder and its version digest: who may use it, and which code it runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder import service


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "rt"
    monkeypatch.setenv("AUTOGRADER_RUNTIME_DIR", str(path))
    return path


def test_the_folder_is_made_for_its_user_alone(folder):
    assert service.runtime_dir() == folder
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_folder_others_may_enter_is_refused(folder):
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(service.ServiceError, match="mode 700"):
        service.runtime_dir()
    assert service.connect(("pytorch",)) is None  # so grade starts factories of its own
    assert service.running() == []


def test_a_link_in_place_of_the_folder_is_refused(folder, tmp_path):
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    folder.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(service.ServiceError, match="not a folder"):
        service.runtime_dir()


def test_no_socket_means_no_service(folder):
    assert service.connect(("pytorch",)) is None
    assert not folder.exists()  # looking for a service makes no folder


def test_a_socket_nobody_listens_on_is_stale(folder):
    import socket

    folder.mkdir(mode=0o700)
    path = service.socket_path(("mxnet",))
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    dead.bind(str(path))
    dead.close()  # the file stays, as after a SIGKILL
    assert service.connect(("mxnet",)) is None
    [found] = service.running()
    assert (found.frameworks, found.pid, found.current) == ("mxnet", None, True)


def test_the_version_follows_the_code(tmp_path, monkeypatch):
    package = tmp_path / "fakepkg"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(service, "PACKAGES", ("fakepkg",))
    service.version.cache_clear()
    try:
        before = service.version()
        service.version.cache_clear()
        assert service.version() == before  # the same code, the same name
        (package / "__init__.py").write_text("x = 2\n")
        service.version.cache_clear()
        assert service.version() != before
    finally:
        service.version.cache_clear()


def test_the_version_ignores_path_but_not_thread_settings(monkeypatch):
    service.version.cache_clear()
    before = service.version()
    monkeypatch.setenv("PATH", os.environ.get("PATH", "") + ":/nowhere")
    service.version.cache_clear()
    assert service.version() == before
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    service.version.cache_clear()
    assert service.version() != before
    service.version.cache_clear()


def test_a_folder_every_sandbox_shows_is_refused(monkeypatch):
    import sys

    monkeypatch.setenv("AUTOGRADER_RUNTIME_DIR", str(Path(sys.prefix) / "autograder-rt"))
    with pytest.raises(service.ServiceError, match="what every sandbox shows"):
        service.runtime_dir(create=False)
    assert service.connect(("pytorch",)) is None
