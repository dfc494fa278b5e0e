"""Feedback and quiz attempts as JSON lines: a backup of any store (SQLite or PostgreSQL), restored into any store.

Each line is ``{"kind": "feedback" | "attempt", "record": {...}}`` with every field of the record, ids and times
included, so a restore gives back the same records; restoring twice adds nothing (feedback is skipped by id,
an attempt is written over by id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from ragbot.errors import RagbotError
from ragbot.userdata.base import UserDataStore
from ragbot.userdata.records import Attempt, Feedback


@dataclass(frozen=True)
class Counts:
    """How many records a backup or a restore handled."""

    feedback: int
    attempts: int


def dump(store: UserDataStore, out: TextIO) -> Counts:
    """Write every feedback record and quiz attempt of the store as JSON lines."""
    feedback, attempts = store.feedback(), store.attempts()
    for kind, records in (("feedback", feedback), ("attempt", attempts)):
        for record in records:
            out.write(json.dumps({"kind": kind, "record": asdict(record)}, ensure_ascii=False) + "\n")
    return Counts(len(feedback), len(attempts))


def _record(line: str, where: str) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one line; anything else is one clear error naming the line."""
    try:
        item = json.loads(line)
        kind, fields = item["kind"], item["record"]
    except (json.JSONDecodeError, TypeError, KeyError):
        raise RagbotError(f"{where}: not a backup line ({{'kind', 'record'}} as JSON)") from None
    if kind not in ("feedback", "attempt") or not isinstance(fields, dict):
        raise RagbotError(f"{where}: unknown record kind {kind!r}")
    return kind, fields


def load(store: UserDataStore, lines: Iterable[str], name: str = "backup") -> Counts:
    """Restore the lines' records into the store: feedback not there yet (by id), every attempt as it was; returns what was written."""
    parsed = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            kind, fields = _record(line, f"{name} line {n}")
            try:
                parsed.append(Feedback(**fields) if kind == "feedback" else Attempt(**fields))
            except TypeError as exc:
                raise RagbotError(f"{name} line {n}: {exc}") from None
    have = {fb.id for fb in store.feedback()}
    feedback = attempts = 0
    for record in parsed:
        if isinstance(record, Feedback):
            if record.id not in have:
                store.add_feedback(record)
                feedback += 1
        else:
            store.restore_attempt(record)
            attempts += 1
    return Counts(feedback, attempts)
