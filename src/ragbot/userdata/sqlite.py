"""The default store: one SQLite file (data/ragbot.sqlite3).

WAL mode and a busy timeout let many server threads and processes write at once; a connection is
opened per call, so one SqliteStore is safe across threads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ragbot.errors import RagbotError
from ragbot.userdata.base import UserDataStore
from ragbot.userdata.records import ATTEMPT_COLUMNS, FEEDBACK_COLUMNS, Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quiz_attempts (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    trainee TEXT NOT NULL,
    quiz_id TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    finished INTEGER NOT NULL,
    answers TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quiz_attempts_by_quiz ON quiz_attempts (quiz_id, created);
"""
_FEEDBACK = ", ".join(FEEDBACK_COLUMNS)
_ATTEMPTS = ", ".join(ATTEMPT_COLUMNS)


class SqliteStore(UserDataStore):
    """One SQLite file (default data/ragbot.sqlite3); opened per call, so it is safe across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise RagbotError(f"cannot open the store {path}: {exc}") from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=FULL")
            yield db

    def _insert_feedback(self, row: Row) -> None:
        with self._connect() as db:
            db.execute(f"INSERT INTO feedback ({_FEEDBACK}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def _feedback_rows(self) -> list[Row]:
        with self._connect() as db:
            return db.execute(f"SELECT {_FEEDBACK} FROM feedback ORDER BY created, id").fetchall()

    def _upsert_attempt(self, row: Row) -> None:
        with self._connect() as db:
            db.execute(
                f"INSERT INTO quiz_attempts ({_ATTEMPTS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "updated = excluded.updated, score = excluded.score, finished = excluded.finished, answers = excluded.answers",
                row,
            )

    def _attempt_rows(self, quiz_id: str | None) -> list[Row]:
        query = f"SELECT {_ATTEMPTS} FROM quiz_attempts"
        with self._connect() as db:
            if quiz_id is None:
                return db.execute(f"{query} ORDER BY created, id").fetchall()
            return db.execute(f"{query} WHERE quiz_id = ? ORDER BY created, id", (quiz_id,)).fetchall()
