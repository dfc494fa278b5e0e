"""Durable store for what users leave behind (answer feedback, quiz attempts): SQLite or PostgreSQL.

Store holds what the backends share (checks, rows, records, CSV export); sqlite.py (the default, one
file in data_dir) and postgres.py (store_url) only run SQL. Each write is its own committed
transaction, so a crash loses at most the write in flight. open_store picks the backend from the settings.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote

from ragbot.errors import RagbotError

if TYPE_CHECKING:
    from ragbot.settings import Settings

MAX_COMMENT_CHARS = 2000
MAX_NAME_CHARS = 80
_FORMULA_START = ("=", "+", "-", "@")
POSTGRES_SCHEMES = ("postgresql", "postgres")

# Row layouts every backend reads and writes, in this column order (values: str, int, bool, float, JSON text).
FEEDBACK_COLUMNS = ("id", "created", "rating", "comment", "question", "answer", "abstained", "citations", "settings")
ATTEMPT_COLUMNS = ("id", "created", "updated", "trainee", "quiz_id", "score", "max_score", "finished", "answers")
Row = tuple[Any, ...]


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


def _password_span(url: str) -> tuple[int, int] | None:
    """Where PASSWORD is in scheme://user:PASSWORD@host; up to the last "@" before any "?", so an unescaped "/" or "@" is covered."""
    start = url.find("://")
    if start < 0:
        return None
    start += 3
    at = url.rfind("@", start, len(url) if "?" not in url[start:] else url.index("?", start))
    colon = url.find(":", start, at)
    return (colon + 1, at) if at > 0 and colon >= 0 else None


def hide_password(url: str) -> str:
    """The URL with any password (user:PASSWORD@ or ?password=) replaced by ***, for messages and saved settings."""
    span = _password_span(url)
    if span:
        url = url[: span[0]] + "***" + url[span[1] :]
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)


def passwords_in(url: str) -> list[str]:
    """The password(s) written in url, as typed and percent-decoded, so a message can leave them out."""
    found = re.findall(r"(?i)[?&]password=([^&]*)", url)
    span = _password_span(url)
    if span:
        found.append(url[span[0] : span[1]])
    return [p for raw in found for p in {raw, unquote(raw)} if p]


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


class Store(ABC):
    """The records, their checks and CSV export; a backend supplies the four SQL steps below."""

    def add_feedback(self, fb: Feedback) -> str:
        """Store one feedback record in one committed transaction; returns its id."""
        if fb.rating not in (-1, 1):
            raise RagbotError("a rating is +1 (helpful) or -1 (not helpful)")
        comment = fb.comment.strip()[:MAX_COMMENT_CHARS]
        row = (fb.id, fb.created, fb.rating, comment, fb.question, fb.answer, bool(fb.abstained),
               json.dumps(fb.citations), json.dumps(fb.settings))  # fmt: skip
        self._insert_feedback(row)
        return fb.id

    def feedback(self) -> list[Feedback]:
        """Every feedback record, oldest first."""
        return [Feedback(r[2], r[4], r[5], bool(r[6]), json.loads(r[7]), json.loads(r[8]), r[3], r[0], r[1]) for r in self._feedback_rows()]

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
               bool(attempt.finished), json.dumps(attempt.answers, ensure_ascii=False))  # fmt: skip
        self._upsert_attempt(row)
        return attempt.id

    def attempts(self, quiz_id: str | None = None) -> list[Attempt]:
        """Every attempt (or one quiz's), oldest first."""
        return [Attempt(r[3], r[4], r[6], json.loads(r[8]), bool(r[7]), r[0], r[1], r[2]) for r in self._attempt_rows(quiz_id)]

    def export_attempts_csv(self, out: TextIO, quiz_id: str | None = None) -> int:
        """Write the attempts as CSV, one row each with its answers as JSON; returns how many."""
        writer = csv.writer(out)
        writer.writerow(["created", "updated", "trainee", "quiz_id", "score", "max_score", "finished", "answered", "answers", "id"])
        records = self.attempts(quiz_id)
        for a in records:
            writer.writerow([a.created, a.updated, _cell(a.trainee), _cell(a.quiz_id), f"{a.score:g}", f"{a.max_score:g}", int(a.finished),
                             len(a.answers), json.dumps(a.answers, ensure_ascii=False), a.id])  # fmt: skip
        return len(records)

    @abstractmethod
    def _insert_feedback(self, row: Row) -> None:
        """Insert one row of FEEDBACK_COLUMNS, committed."""

    @abstractmethod
    def _feedback_rows(self) -> list[Row]:
        """Every feedback row (FEEDBACK_COLUMNS) by created, then id."""

    @abstractmethod
    def _upsert_attempt(self, row: Row) -> None:
        """Insert one row of ATTEMPT_COLUMNS, or update its updated, score, finished and answers if the id is there; committed."""

    @abstractmethod
    def _attempt_rows(self, quiz_id: str | None) -> list[Row]:
        """Every attempt row (ATTEMPT_COLUMNS), or quiz_id's, by created, then id."""


def open_store(settings: Settings) -> Store:
    """The store the settings name: SQLite at settings.store_path when store_url is empty, else the PostgreSQL database at store_url."""
    url = settings.store_url.strip()
    if not url:
        from ragbot.store.sqlite import SqliteStore

        return SqliteStore(settings.store_path)
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in POSTGRES_SCHEMES:
        named = f"a {scheme}:// URL" if sep and scheme.isascii() and scheme.isalnum() else "that"
        raise RagbotError(f"store_url must be empty (SQLite in data_dir) or a postgresql://user@host/database URL, not {named}")
    try:
        from ragbot.store.postgres import PostgresStore
    except ImportError:
        raise RagbotError("store_url names PostgreSQL but psycopg is not installed: pip install 'psycopg[binary]'") from None
    return PostgresStore(url)
