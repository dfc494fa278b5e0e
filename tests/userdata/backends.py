"""The two places a store can live, named by one string a test or a writer process opens the same way."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ragbot.settings import Settings
from ragbot.userdata.base import UserDataStore
from ragbot.userdata.factory import open_userdata
from ragbot.userdata.sqlite import SqliteStore


def open_target(target: str) -> UserDataStore:
    """The store at target: a postgresql:// URL (through open_userdata, as `ragbot serve` opens it), else a SQLite file path."""
    if target.startswith("postgresql://"):
        return open_userdata(Settings(store_url=target))
    return SqliteStore(Path(target))


@dataclass(frozen=True)
class Backend:
    """One backend under test: its name and where its store is (a SQLite file path or a PostgreSQL URL)."""

    name: str
    target: str

    def open(self) -> UserDataStore:
        """Open the store afresh, as a new process would."""
        return open_target(self.target)

    def integrity(self) -> str:
        """What is corrupt, else "ok": SQLite's integrity_check, or PostgreSQL's amcheck over both tables and their indexes."""
        if self.name == "sqlite":
            with sqlite3.connect(self.target) as db:
                return db.execute("PRAGMA integrity_check").fetchone()[0]
        with psycopg.connect(self.target, autocommit=True) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            problems = [f"{table}: {msg}" for table in ("feedback", "quiz_attempts")
                        for (msg,) in db.execute("SELECT msg FROM verify_heapam(%s::regclass)", (table,))]  # fmt: skip
            indexes = db.execute(
                "SELECT i.indexrelid FROM pg_index i WHERE i.indrelid IN ('feedback'::regclass, 'quiz_attempts'::regclass)"
            ).fetchall()
            for (index,) in indexes:
                db.execute("SELECT bt_index_check(%s, true)", (index,))  # raises on a broken index or a row missing from it
        return "; ".join(problems) or "ok"
