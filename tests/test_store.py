from __future__ import annotations

import csv
import io
import multiprocessing
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.store import Feedback, Store


def _feedback(i: int, rating: int = 1) -> Feedback:
    return Feedback(rating=rating, question=f"q{i}?", answer=f"a{i} [1]", abstained=False,
                    citations=[{"n": 1, "passage_id": f"d.txt#{i}"}], settings={"top_k": 10}, comment=f"c{i}")  # fmt: skip


def _writer(path: str, start: int, n: int) -> None:
    store = Store(Path(path))
    for i in range(start, start + n):
        store.add_feedback(_feedback(i))


def test_feedback_survives_a_restart_and_exports_as_csv(tmp_path: Path):
    path = tmp_path / "data" / "ragbot.sqlite3"
    Store(path).add_feedback(_feedback(1, rating=-1))
    again = Store(path)  # a new process would open the file the same way
    records = again.feedback()
    assert [(r.question, r.rating, r.comment) for r in records] == [("q1?", -1, "c1")]
    out = io.StringIO()
    assert again.export_feedback_csv(out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["question"] == "q1?" and rows[0]["rating"] == "-1" and rows[0]["citations"] == "[1] d.txt#1"


def test_concurrent_writers_lose_nothing(tmp_path: Path):
    path = tmp_path / "ragbot.sqlite3"
    Store(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), k * 100, 25)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len({r.question for r in Store(path).feedback()}) == 100


def test_bad_feedback_and_bad_paths_are_clear_errors(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite3")
    with pytest.raises(RagbotError, match="rating"):
        store.add_feedback(_feedback(1, rating=5))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RagbotError, match="cannot open the store"):
        Store(blocker / "s.sqlite3")
