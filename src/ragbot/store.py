"""Durable local store for what users leave behind (answer feedback, quiz attempts), in SQLite.

WAL mode and a busy timeout let many server threads and processes write at once; each write is
its own committed transaction, so a crash loses at most the write in flight.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ragbot.errors import RagbotError

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
MAX_COMMENT_CHARS = 2000
MAX_NAME_CHARS = 80
_FORMULA_START = ("=", "+", "-", "@")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _cell(text: str) -> str:
    """Text for a CSV cell that a spreadsheet shows as text instead of running it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def clean_name(name: object) -> str:
    """A trainee's name with control characters and runs of spaces collapsed; empty or over-long is an error."""
    if not isinstance(name, str):
        raise RagbotError("the trainee name must be text")
    text = " ".join("".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in name).split())
    if not text:
        raise RagbotError("enter the trainee's name")
    if len(text) > MAX_NAME_CHARS:
        raise RagbotError(f"the trainee name is {len(text)} characters long; the limit is {MAX_NAME_CHARS}")
    return text


@dataclass(frozen=True)
class Feedback:
    rating: int  # +1 or -1
    question: str
    answer: str
    abstained: bool
    citations: list[dict[str, Any]]
    settings: dict[str, Any]
    comment: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=_now)


@dataclass
class Attempt:
    """One trainee's run through one quiz; answers hold, per question answered, the response and its grade."""

    trainee: str
    quiz_id: str
    max_score: float  # questions in the quiz, answered or not
    answers: list[dict[str, Any]] = field(default_factory=list)  # question_id, question, answer, response, verdict, credit
    finished: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=_now)
    updated: str = ""

    @property
    def score(self) -> float:
        return float(sum(a["credit"] for a in self.answers))


class Store:
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

    def add_feedback(self, fb: Feedback) -> str:
        if fb.rating not in (-1, 1):
            raise RagbotError("a rating is +1 (helpful) or -1 (not helpful)")
        comment = fb.comment.strip()[:MAX_COMMENT_CHARS]
        row = (
            fb.id,
            fb.created,
            fb.rating,
            comment,
            fb.question,
            fb.answer,
            int(fb.abstained),
            json.dumps(fb.citations),
            json.dumps(fb.settings),
        )
        with self._connect() as db:
            db.execute("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        return fb.id

    def feedback(self) -> list[Feedback]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, created, rating, comment, question, answer, abstained, citations, settings FROM feedback ORDER BY created, id"
            ).fetchall()
        return [
            Feedback(
                rating=r[2],
                question=r[4],
                answer=r[5],
                abstained=bool(r[6]),
                citations=json.loads(r[7]),
                settings=json.loads(r[8]),
                comment=r[3],
                id=r[0],
                created=r[1],
            )
            for r in rows
        ]

    def export_feedback_csv(self, out: TextIO) -> int:
        """Write every feedback record as CSV; returns how many."""
        writer = csv.writer(out)
        writer.writerow(["created", "rating", "comment", "question", "answer", "abstained", "citations", "settings", "id"])
        records = self.feedback()
        for fb in records:
            cited = " | ".join(f"[{c.get('n')}] {c.get('passage_id')}" for c in fb.citations)
            writer.writerow(
                [fb.created, fb.rating, fb.comment, fb.question, fb.answer, int(fb.abstained), cited, json.dumps(fb.settings), fb.id]
            )
        return len(records)

    def save_attempt(self, attempt: Attempt) -> str:
        """Insert or update the attempt (by id) in one transaction; the page and `quiz take` call it after every answer."""
        attempt.trainee = clean_name(attempt.trainee)
        if not attempt.quiz_id:
            raise RagbotError("an attempt needs the quiz id")
        attempt.updated = _now()
        row = (attempt.id, attempt.created, attempt.updated, attempt.trainee, attempt.quiz_id, attempt.score, float(attempt.max_score),
               int(attempt.finished), json.dumps(attempt.answers, ensure_ascii=False))  # fmt: skip
        with self._connect() as db:
            db.execute(
                "INSERT INTO quiz_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "updated = excluded.updated, score = excluded.score, finished = excluded.finished, answers = excluded.answers",
                row,
            )
        return attempt.id

    def attempts(self, quiz_id: str | None = None) -> list[Attempt]:
        """Every attempt (or one quiz's), oldest first."""
        query = "SELECT id, created, updated, trainee, quiz_id, max_score, finished, answers FROM quiz_attempts"
        with self._connect() as db:
            if quiz_id is None:
                rows = db.execute(f"{query} ORDER BY created, id").fetchall()
            else:
                rows = db.execute(f"{query} WHERE quiz_id = ? ORDER BY created, id", (quiz_id,)).fetchall()
        return [Attempt(r[3], r[4], r[5], json.loads(r[7]), bool(r[6]), r[0], r[1], r[2]) for r in rows]

    def export_attempts_csv(self, out: TextIO, quiz_id: str | None = None) -> int:
        """Write the attempts as CSV, one row each with its answers as JSON; returns how many."""
        writer = csv.writer(out)
        writer.writerow(["created", "updated", "trainee", "quiz_id", "score", "max_score", "finished", "answered", "answers", "id"])
        records = self.attempts(quiz_id)
        for a in records:
            writer.writerow([a.created, a.updated, _cell(a.trainee), _cell(a.quiz_id), f"{a.score:g}", f"{a.max_score:g}", int(a.finished),
                             len(a.answers), json.dumps(a.answers, ensure_ascii=False), a.id])  # fmt: skip
        return len(records)
