"""store_url picks the backend; every bad one (scheme, server, password, database) is one line that never shows the password."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from ragbot.errors import RagbotError
from ragbot.settings import Settings
from ragbot.urls import hide_password
from ragbot.userdata.factory import open_userdata
from ragbot.userdata.postgres import PostgresStore
from ragbot.userdata.records import Attempt, Feedback
from ragbot.userdata.sqlite import SqliteStore

from .conftest import PostgresServer, free_port

SECRET = "hunter2-Secret"


def _one_line_error(settings: Settings, password: str = SECRET) -> str:
    with pytest.raises(RagbotError) as caught:
        open_userdata(settings)
    message = str(caught.value)
    assert "\n" not in message and password not in message and "hunter2" not in message, message
    return message


def test_an_empty_store_url_is_sqlite_in_data_dir_and_a_postgresql_one_is_that_database(tmp_path: Path, postgres_server: PostgresServer):
    store = open_userdata(Settings(data_dir=tmp_path / "data"))
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "data" / "ragbot.sqlite3" and store.path.exists()
    url = postgres_server.new_database()
    assert isinstance(open_userdata(Settings(store_url=url)), PostgresStore)
    alias = open_userdata(Settings(store_url=" " + url.replace("postgresql://", "postgres://", 1) + " "))
    alias.save_attempt(Attempt(trainee="Ana", quiz_id="q", max_score=1))
    assert [a.trainee for a in open_userdata(Settings(store_url=url)).attempts()] == ["Ana"]  # the same database


@pytest.mark.parametrize("url", [f"mysql://root:{SECRET}@db/ragbot", f"https://u:{SECRET}@host/db", "sqlite:///data/x.sqlite3", SECRET,
                                 f"{SECRET}@localhost/db"])  # fmt: skip
def test_an_unknown_scheme_is_one_clear_line(url: str):
    message = _one_line_error(Settings(store_url=url))
    assert message.startswith("store_url must be empty (SQLite in data_dir) or a postgresql://"), message


def test_an_unreachable_server_is_one_clear_line():
    port = free_port()  # nothing listens there
    message = _one_line_error(Settings(store_url=f"postgresql://ragbot:{SECRET}@127.0.0.1:{port}/ragbot"))
    assert message.startswith(f"cannot open the store postgresql://ragbot:***@127.0.0.1:{port}/ragbot: connection failed"), message


def test_a_server_that_does_not_answer_times_out_as_one_line():
    """A port that takes the connection and never says a word: libpq's connect_timeout ends the wait, and says so."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nothing ever reads or answers
        port = silent.getsockname()[1]
        message = _one_line_error(Settings(store_url=f"postgresql://ragbot:{SECRET}@127.0.0.1:{port}/ragbot?connect_timeout=1"))
        short = _one_line_error(Settings(store_url=f"postgresql://ragbot:x@127.0.0.1:{port}/ragbot?connect_timeout=1"))
    assert message.startswith(f"cannot open the store postgresql://ragbot:***@127.0.0.1:{port}/ragbot?connect_timeout=1: "), message
    assert "timeout expired" in message, message
    message = short
    assert "timeout expired" in message and "ragbot:***@" in message, f"a one-letter password hides only itself: {message}"


def test_a_malformed_url_is_one_line_without_the_password():
    message = _one_line_error(Settings(store_url=f"postgresql://ragbot:{SECRET}@[::1:5432/ragbot"))
    assert message.startswith("store_url is not a PostgreSQL URL libpq reads (postgresql://ragbot:***@[::1:5432/ragbot)"), message
    message = _one_line_error(Settings(store_url=f"postgresql://ragbot@localhost/ragbot?password={SECRET}&bogus=1"))
    assert "password=***" in message and "bogus" in message


def test_a_wrong_password_is_one_clear_line(postgres_server: PostgresServer):
    url = postgres_server.new_database()
    message = _one_line_error(Settings(store_url=url.replace(postgres_server.password, SECRET)))
    assert "password authentication failed" in message and "ragbot:***@127.0.0.1" in message, message
    message = _one_line_error(Settings(store_url=url.replace(f":{postgres_server.password}@", "@") + f"?password={SECRET}"))
    assert "password authentication failed" in message, message


def test_an_unknown_database_is_one_clear_line(postgres_server: PostgresServer):
    message = _one_line_error(Settings(store_url=postgres_server.url("no_such_db")), postgres_server.password)
    assert 'database "no_such_db" does not exist' in message, message


def test_a_user_who_may_not_create_the_tables_is_one_clear_line(postgres_server: PostgresServer):
    url = postgres_server.new_database()
    role = "reader_" + url.rsplit("/", 1)[1]  # roles are the server's, databases each test's own
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
    reader = url.replace(f"ragbot:{postgres_server.password}@", f"{role}:{SECRET}@")
    message = _one_line_error(Settings(store_url=reader))
    assert message.startswith(f"cannot open the store postgresql://{role}:***@"), message
    assert "permission denied for schema public" in message, message
    open_userdata(Settings(store_url=url))  # once the owner has made the tables, the reader needs only rights on them
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"GRANT SELECT, INSERT, UPDATE ON feedback, quiz_attempts TO {role}")
    open_userdata(Settings(store_url=reader)).save_attempt(Attempt(trainee="Ana", quiz_id="q", max_score=1))
    assert [a.trainee for a in open_userdata(Settings(store_url=url)).attempts()] == ["Ana"]


def test_the_password_may_come_from_pgpassword_instead_of_the_url(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch):
    url = postgres_server.new_database().replace(f":{postgres_server.password}@", "@")
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    open_userdata(Settings(store_url=url)).save_attempt(Attempt(trainee="Ana", quiz_id="q", max_score=1))
    monkeypatch.setenv("PGPASSWORD", SECRET)
    assert "password authentication failed" in _one_line_error(Settings(store_url=url))


def test_saved_settings_never_hold_the_password():
    url = f"postgresql://ragbot:{SECRET}@db.example:5432/ragbot?sslmode=require&password={SECRET}"
    settings = Settings.load(env={"RAGBOT_STORE_URL": url}, config_file=None)
    assert settings.store_url == url
    assert settings.to_dict()["store_url"] == "postgresql://ragbot:***@db.example:5432/ragbot?sslmode=require&password=***"
    assert SECRET not in repr(settings) and SECRET not in str(settings.to_dict())
    assert hide_password("postgresql://ragbot@db/x") == "postgresql://ragbot@db/x" and hide_password("") == ""


def _ragbot(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")} | {"RAGBOT_STORE_URL": url}
    return subprocess.run([sys.executable, "-m", "ragbot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_commands_read_postgresql_and_a_bad_url_is_one_line_not_a_traceback(tmp_path: Path, postgres_server: PostgresServer):
    url = postgres_server.new_database()
    store = open_userdata(Settings(store_url=url))
    store.add_feedback(Feedback(rating=1, question="q?", answer="a [1]", abstained=False, citations=[{"n": 1, "passage_id": "d#1"}],
                                settings={}))  # fmt: skip
    store.save_attempt(Attempt(trainee="Ana", quiz_id="quiz-a", max_score=2, answers=[], finished=False))
    proc = _ragbot("feedback", "export", "--out", "fb.csv", cwd=tmp_path, url=url)
    assert proc.returncode == 0 and "wrote 1 feedback records" in proc.stderr, proc.stderr
    assert [r["question"] for r in csv.DictReader((tmp_path / "fb.csv").open(encoding="utf-8"))] == ["q?"]
    proc = _ragbot("quiz", "results", cwd=tmp_path, url=url)
    assert proc.returncode == 0 and "Ana" in proc.stdout and "quiz-a" in proc.stdout, proc.stderr
    assert not (tmp_path / "data").exists()  # nothing went to SQLite
    proc = _ragbot("feedback", "export", cwd=tmp_path, url=url.replace(postgres_server.password, SECRET))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert lines[0].startswith("ragbot: error: cannot open the store postgresql://ragbot:***@") and SECRET not in proc.stderr
