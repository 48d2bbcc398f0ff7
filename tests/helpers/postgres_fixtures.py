"""A throw-away PostgreSQL server for the gradebook tests: initdb in a temporary folder, a unix socket.

PostgreSQL refuses to run as root, so when the tests are root (CI is) the server runs as the
``postgres`` user that the Debian package made (else ``nobody``). It listens on no TCP port
at all, only on a socket in its own folder, and stops when the session ends. If it cannot
start, the tests fail with the reason in one line under CI and are skipped elsewhere.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "postgres_server", "postgres_url", "throwaway_server"]


def _binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's versioned one (newest first)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # Debian's /usr/lib/postgresql/N/bin, via a link
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    return Path(folders[-1]).parent if folders else None


@dataclass
class PostgresServer:
    folder: Path  #: holds data/, the socket and the log
    bin: Path
    user: str | None  #: whom the server runs as when the tests are root

    @property
    def socket_dir(self) -> Path:
        return self.folder

    def url(self, database: str) -> str:
        """An SQLAlchemy URL for ``database`` over the server's unix socket."""
        return f"postgresql+psycopg2://postgres@/{database}?host={self.socket_dir}"

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        kwargs = {"user": self.user} if self.user else {}
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
            **kwargs,
        )

    def create_database(self) -> str:
        import psycopg2

        name = f"gradebook_{uuid.uuid4().hex[:10]}"
        connection = psycopg2.connect(dbname="postgres", user="postgres", host=str(self.socket_dir))
        try:
            connection.autocommit = True  # CREATE DATABASE runs outside a transaction
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
        finally:
            connection.close()
        return name


def _last(done: subprocess.CompletedProcess) -> str:
    lines = (done.stderr or done.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def _start() -> tuple[PostgresServer | None, str]:
    """A running server, or None and why not in one line."""
    binaries = _binaries()
    if binaries is None:
        return None, (
            "no initdb: install Debian's postgresql (make system-deps does), or "
            "put PostgreSQL's bin folder on PATH"
        )
    user = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            user = name
            break
        else:
            return None, "the tests are root and there is no postgres or nobody user to run it"
    # not below pytest's tmp_path: its parents are root's alone, and the server is not root
    folder = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(folder, binaries, user)
    init = server.run(
        "initdb",
        "-D",
        str(folder / "data"),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-instructions",
        timeout=120,
    )
    if init.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"initdb failed: {_last(init)}"
    options = f"-c listen_addresses='' -c unix_socket_directories={folder} -c fsync=off"
    start = server.run(
        "pg_ctl",
        "-D",
        str(folder / "data"),
        "-l",
        str(folder / "server.log"),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
        timeout=90,
    )
    if start.returncode:
        log = folder / "server.log"
        tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"PostgreSQL did not start: {(tail or [_last(start)])[0]}"
    return server, ""


def _stop(server: PostgresServer) -> None:
    server.run("pg_ctl", "-D", str(server.folder / "data"), "-m", "immediate", "-w", "stop")
    shutil.rmtree(server.folder, ignore_errors=True)


@contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """A server for as long as the block runs (the benchmark's); RuntimeError if none starts."""
    server, why = _start()
    if server is None:
        raise RuntimeError(f"PostgreSQL cannot start here: {why}")
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server, why = _start()
    if server is None:
        message = f"PostgreSQL cannot start here: {why}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the throw-away server."""
    return postgres_server.url(postgres_server.create_database())
