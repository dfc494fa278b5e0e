"""Durable local store for what users leave behind (answer feedback), in SQLite.

WAL mode and a busy timeout let many server threads and processes write at once; each write is
its own committed transaction, so a crash loses at most the write in flight.
"""

from __future__ import annotations

import csv
import json
import sqlite3
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
"""
MAX_COMMENT_CHARS = 2000


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
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


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
