"""The user-data store: its checks, rows and CSV export; a backend (sqlite.py, postgres.py) supplies four SQL steps."""

from __future__ import annotations

import csv
import json
from abc import ABC, abstractmethod
from typing import TextIO

from ragbot.errors import RagbotError
from ragbot.userdata.records import MAX_COMMENT_CHARS, Attempt, Feedback, Row, clean_name, now

_FORMULA_START = ("=", "+", "-", "@")


def _cell(text: str) -> str:
    """Text for a CSV cell that a spreadsheet shows as text instead of running it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


class UserDataStore(ABC):
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
        attempt.updated = now()
        self.restore_attempt(attempt)
        return attempt.id

    def restore_attempt(self, attempt: Attempt) -> None:
        """Insert or update the attempt exactly as given, its times kept (a backup's restore); one transaction."""
        row = (attempt.id, attempt.created, attempt.updated, attempt.trainee, attempt.quiz_id, attempt.score, float(attempt.max_score),
               bool(attempt.finished), json.dumps(attempt.answers, ensure_ascii=False))  # fmt: skip
        self._upsert_attempt(row)

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
