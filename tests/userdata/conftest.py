"""The backends every store test runs on: a SQLite file, and a fresh database on a real PostgreSQL server.

The server is started once per session from the installed binaries (`make postgres` installs them): a
throwaway cluster in a temporary folder, on a free loopback port, password login over TCP. As root,
initdb and the server run as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ..index.conftest import free_port
from ..required import require
from .backends import Backend

USER = "ragbot"


POSTGRES_GLOB = "/usr/lib/postgresql/*/bin"  # RAGBOT_TEST_POSTGRES_GLOB points it elsewhere (to show a CI run without PostgreSQL)


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: the newest /usr/lib/postgresql/*/bin, else initdb's on PATH; None if neither."""
    pattern = os.environ.get("RAGBOT_TEST_POSTGRES_GLOB", POSTGRES_GLOB)
    folders = sorted(glob.glob(pattern), key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0)
    which = shutil.which("initdb")
    for folder in [*(Path(d) for d in reversed(folders)), *([Path(which).resolve().parent] if which else [])]:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 and a socket in that folder."""

    def __init__(self, bindir: Path, run_as: str | None) -> None:
        self.bindir = bindir
        self.run_as = run_as  # the user initdb and the server run as (when we are root), else None
        self.folder = Path(tempfile.mkdtemp(prefix="ragbot-pg-"))
        self.password = secrets.token_hex(12)
        self.port = free_port()
        self._databases = itertools.count(1)
        self.seconds = 0.0  # how long initdb and the start took

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        proc = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip()} {tail}")

    def start(self) -> None:
        started = time.perf_counter()
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            for path in (self.folder, pwfile):
                shutil.chown(path, self.run_as)
        self._run("initdb", "-D", "data", "-U", USER, f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust",
                  "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")  # fmt: skip
        pwfile.unlink()
        # fsync off: the tests kill clients, not the server, and a discarded cluster need not reach the disk
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", "data", "-l", "server.log", "-w", "-t", "60", "-o", options, "start")
        self.seconds = time.perf_counter() - started

    def url(self, database: str, password: str | None = None) -> str:
        return f"postgresql://{USER}:{self.password if password is None else password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database sorting text as people do (ICU en-US, as servers often do, unlike C); returns its URL."""
        name = f"test_{next(self._databases)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", "data", "-m", "immediate", "-w", "stop")  # no shutdown checkpoint: the cluster is deleted
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; if there is none, a failure under CI and a skip elsewhere, saying why."""
    bindir = postgres_bin()
    if bindir is None:
        require("PostgreSQL", "no initdb and pg_ctl in /usr/lib/postgresql/*/bin or on PATH (`make postgres` installs them)")
    run_as = None
    if os.geteuid() == 0:
        try:
            run_as = pwd.getpwnam("postgres").pw_name
        except KeyError:
            require("PostgreSQL", "running as root, and there is no postgres user to run initdb and the server as")
        if shutil.which("runuser") is None:
            require("PostgreSQL", "running as root, and there is no runuser to start the server as the postgres user")
    server = PostgresServer(bindir, run_as)
    try:
        try:
            server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:  # installed but broken: a failure here and under CI
            pytest.fail(f"PostgreSQL is required: the server in {bindir} did not start: {str(e).strip()[:300]}", pytrace=False)
        print(f"\nPostgreSQL ({bindir}) on 127.0.0.1:{server.port}, started in {server.seconds:.1f} s")
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each store test runs twice: on a new SQLite file (in a data folder not yet made) and on a new PostgreSQL database."""
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "data" / "ragbot.sqlite3"))
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return Backend("postgres", server.new_database())
