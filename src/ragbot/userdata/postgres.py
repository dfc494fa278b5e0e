"""The store in a PostgreSQL database (store_url = postgresql://user:password@host:port/database), through psycopg 3.

The same tables as sqlite.py in PostgreSQL types. A connection is opened per call (no pool to share
across threads or forked processes), and each write is one transaction committed before the call
returns. A problem with the server or the URL is a RagbotError of one line that never shows the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ragbot.errors import RagbotError
from ragbot.urls import hide_password, passwords_in
from ragbot.userdata.base import UserDataStore
from ragbot.userdata.records import ATTEMPT_COLUMNS, FEEDBACK_COLUMNS, Row

# Ids and times sort byte by byte (COLLATE "C") as in SQLite; JSON columns keep the text as written (json, not jsonb).
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT COLLATE "C" PRIMARY KEY,
    created TEXT COLLATE "C" NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained BOOLEAN NOT NULL,
    citations JSON NOT NULL,
    settings JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS quiz_attempts (
    id TEXT COLLATE "C" PRIMARY KEY,
    created TEXT COLLATE "C" NOT NULL,
    updated TEXT COLLATE "C" NOT NULL,
    trainee TEXT NOT NULL,
    quiz_id TEXT COLLATE "C" NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    max_score DOUBLE PRECISION NOT NULL,
    finished BOOLEAN NOT NULL,
    answers JSON NOT NULL
);
CREATE INDEX IF NOT EXISTS quiz_attempts_by_quiz ON quiz_attempts (quiz_id, created);
"""
_SCHEMA_LOCK = 0x72616762  # a transaction-level advisory lock: servers starting at once create the tables once
_CONNECT_TIMEOUT = 10  # seconds, unless the URL sets connect_timeout
_FEEDBACK = ", ".join(FEEDBACK_COLUMNS)
_ATTEMPTS = ", ".join(ATTEMPT_COLUMNS)
_AS_TEXT = {"citations": "citations::text", "settings": "settings::text", "answers": "answers::text"}
_SELECT_FEEDBACK = ", ".join(_AS_TEXT.get(c, c) for c in FEEDBACK_COLUMNS)
_SELECT_ATTEMPTS = ", ".join(_AS_TEXT.get(c, c) for c in ATTEMPT_COLUMNS)
_VALUES = ", ".join("%s::json" if c in _AS_TEXT else "%s" for c in FEEDBACK_COLUMNS)
_ATTEMPT_VALUES = ", ".join("%s::json" if c in _AS_TEXT else "%s" for c in ATTEMPT_COLUMNS)


def _text_safe(row: Row) -> Row:
    """PostgreSQL text cannot hold NUL characters: each becomes U+FFFD (JSON text has them escaped already)."""
    return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)


class PostgresStore(UserDataStore):
    """A PostgreSQL database; the tables are created on first use."""

    def __init__(self, url: str) -> None:
        self.url = hide_password(url)  # what messages show
        self._secrets = sorted(passwords_in(url), key=len, reverse=True)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise self._error(f"store_url is not a PostgreSQL URL libpq reads ({self.url})", exc) from None
        params.setdefault("connect_timeout", str(_CONNECT_TIMEOUT))
        params.setdefault("application_name", "ragbot")
        self._conninfo = make_conninfo("", **params)
        try:
            with self._connect() as db:
                db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                tables = ("feedback", "quiz_attempts", "quiz_attempts_by_quiz")
                present = db.execute("SELECT " + ", ".join(f"to_regclass('{t}') IS NOT NULL" for t in tables)).fetchone()
                if not (present and all(present)):  # CREATE needs rights on the schema that reading and writing do not
                    db.execute(SCHEMA)
        except psycopg.Error as exc:  # e.g. a user without the right to create the tables
            raise self._error(f"cannot open the store {self.url}", exc) from None

    def _error(self, what: str, exc: Exception) -> RagbotError:
        text = " ".join(str(exc).split())  # libpq's messages run over several lines
        for secret in self._secrets:  # as a whole token: the password "x" must not turn "expired" into "e***pired"
            text = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", "***", text)
        return RagbotError(f"{what}: {text}")

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        """A new connection whose transaction commits when the block ends without an error (else rolls back); then closed."""
        try:
            conn = psycopg.connect(self._conninfo)
        except psycopg.Error as exc:
            raise self._error(f"cannot open the store {self.url}", exc) from None
        try:
            with conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise self._error(f"the store {self.url} failed", exc) from None

    def _insert_feedback(self, row: Row) -> None:
        with self._connect() as db:
            db.execute(f"INSERT INTO feedback ({_FEEDBACK}) VALUES ({_VALUES})", _text_safe(row))

    def _feedback_rows(self) -> list[Row]:
        with self._connect() as db:
            return db.execute(f"SELECT {_SELECT_FEEDBACK} FROM feedback ORDER BY created, id").fetchall()

    def _upsert_attempt(self, row: Row) -> None:
        with self._connect() as db:
            db.execute(
                f"INSERT INTO quiz_attempts ({_ATTEMPTS}) VALUES ({_ATTEMPT_VALUES}) ON CONFLICT (id) DO UPDATE SET "
                "updated = excluded.updated, score = excluded.score, finished = excluded.finished, answers = excluded.answers",
                _text_safe(row),
            )

    def _attempt_rows(self, quiz_id: str | None) -> list[Row]:
        query = f"SELECT {_SELECT_ATTEMPTS} FROM quiz_attempts"
        with self._connect() as db:
            if quiz_id is None:
                return db.execute(f"{query} ORDER BY created, id").fetchall()
            return db.execute(f"{query} WHERE quiz_id = %s ORDER BY created, id", (quiz_id.replace("\x00", "\ufffd"),)).fetchall()
