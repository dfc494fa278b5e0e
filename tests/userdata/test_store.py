"""Feedback and quiz attempts, on each backend: round trips, CSV export, upserts, concurrent writers, bad input."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.userdata.records import MAX_NAME_CHARS, Attempt, Feedback, clean_name
from ragbot.userdata.sqlite import SqliteStore

from .backends import Backend, open_target


def _feedback(i: int, rating: int = 1) -> Feedback:
    return Feedback(rating=rating, question=f"q{i}?", answer=f"a{i} [1]", abstained=False,
                    citations=[{"n": 1, "passage_id": f"d.txt#{i}"}], settings={"top_k": 10}, comment=f"c{i}")  # fmt: skip


def _writer(target: str, start: int, n: int) -> None:
    store = open_target(target)
    for i in range(start, start + n):
        store.add_feedback(_feedback(i))


def test_feedback_survives_a_restart_and_exports_as_csv(backend: Backend):
    backend.open().add_feedback(_feedback(1, rating=-1))
    again = backend.open()  # a new process would open the store the same way
    records = again.feedback()
    assert [(r.question, r.rating, r.comment) for r in records] == [("q1?", -1, "c1")]
    out = io.StringIO()
    assert again.export_feedback_csv(out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["question"] == "q1?" and rows[0]["rating"] == "-1" and rows[0]["citations"] == "[1] d.txt#1"


def test_every_field_round_trips_and_both_backends_export_the_same_csv(backend: Backend, tmp_path: Path):
    fb = Feedback(rating=1, question="Où? 한국", answer="Jakarta [1][2]", abstained=True, comment="  ok \n",
                  citations=[{"passage_id": "b.txt#2", "n": 2, "score": 0.5}, {"n": 1, "passage_id": "a.txt#1"}],
                  settings={"top_k": 3, "briefs": ["a.txt"], "confidence": None, "engine": "llm"},
                  created="2026-01-02T03:04:05+00:00")  # fmt: skip
    store = backend.open()
    store.add_feedback(fb)
    [back] = backend.open().feedback()
    assert back == Feedback(**{**fb.__dict__, "comment": "ok"})  # key order of the JSON fields kept too
    assert list(back.citations[0]) == ["passage_id", "n", "score"] and list(back.settings) == ["top_k", "briefs", "confidence", "engine"]
    reference = SqliteStore(tmp_path / "reference.sqlite3")
    reference.add_feedback(fb)
    ours, theirs = io.StringIO(), io.StringIO()
    store.export_feedback_csv(ours)
    reference.export_feedback_csv(theirs)
    assert ours.getvalue() == theirs.getvalue()


def test_records_come_back_oldest_first_then_by_id(backend: Backend):
    store = backend.open()
    made = [("2026-01-01T00:00:02+00:00", "a"), ("2026-01-01T00:00:01+00:00", "_"), ("2026-01-01T00:00:02+00:00", "B"),
            ("2026-01-01T00:00:01+00:00", "A")]  # fmt: skip
    for created, record_id in made:
        store.add_feedback(Feedback(rating=1, question="q", answer="a", abstained=False, citations=[], settings={}, id=record_id,
                                    created=created))  # fmt: skip
        store.save_attempt(Attempt(trainee="t", quiz_id="q", max_score=1, id=record_id, created=created))
    expected = sorted(made)  # byte order ("A" < "B" < "_" < "a"), whatever the database's collation (en-US: "_" < "a" < "A" < "B")
    assert [(f.created, f.id) for f in store.feedback()] == expected
    assert [(a.created, a.id) for a in store.attempts()] == expected == [(a.created, a.id) for a in store.attempts("q")]


def test_a_comment_with_a_nul_character_is_kept(backend: Backend):
    """PostgreSQL text cannot hold NUL (SQLite can): it is stored as U+FFFD instead of failing the write."""
    store = backend.open()
    fb = Feedback(rating=1, question="q", answer="a", abstained=False, citations=[], settings={"x": "\x00"}, comment="a\x00b")
    store.add_feedback(fb)
    [fb] = store.feedback()
    assert fb.comment in ("a\x00b", "a\ufffdb") and fb.settings == {"x": "\x00"}


def test_concurrent_writers_lose_nothing(backend: Backend):
    backend.open()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(backend.target, k * 100, 25)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len({r.question for r in backend.open().feedback()}) == 100


def test_bad_feedback_is_a_clear_error_and_stores_nothing(backend: Backend):
    store = backend.open()
    with pytest.raises(RagbotError, match="rating"):
        store.add_feedback(_feedback(1, rating=5))
    assert store.feedback() == []


def test_a_sqlite_path_that_cannot_be_a_file_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RagbotError, match="cannot open the store"):
        SqliteStore(blocker / "s.sqlite3")


def _answer(i: int, credit: float = 1.0) -> dict:
    return {"question_id": f"q{i}", "question": f"Question {i}?", "answer": "1989", "response": "1989" if credit else "1991",
            "verdict": "correct" if credit else "wrong", "credit": credit}  # fmt: skip


def _attempter(target: str, trainee: str, n: int) -> None:
    """n attempts of a three-question quiz, each saved after every answer as the page and `quiz take` do."""
    store = open_target(target)
    for i in range(n):
        attempt = Attempt(trainee=f"{trainee}-{i}", quiz_id="quiz-a", max_score=3)
        for q in range(3):
            attempt.answers.append(_answer(q, credit=float(q != 1)))
            attempt.finished = q == 2
            store.save_attempt(attempt)


def test_attempts_are_saved_after_each_answer_survive_a_restart_and_export(backend: Backend):
    store = backend.open()
    attempt = Attempt(trainee="  Kim   Min-ji ", quiz_id="quiz-a", max_score=3)
    attempt.answers.append(_answer(1))
    store.save_attempt(attempt)
    saved = backend.open().attempts()  # a new process, after a crash mid-quiz, sees the answer given so far
    assert [(a.trainee, a.score, a.max_score, a.finished, len(a.answers)) for a in saved] == [("Kim Min-ji", 1.0, 3.0, False, 1)]
    first_update = saved[0].updated
    attempt.answers += [_answer(2, credit=0.5), _answer(3, credit=0.0)]
    attempt.finished = True
    store.save_attempt(attempt)
    backend.open().save_attempt(Attempt(trainee="=HYPERLINK(1)", quiz_id="quiz-b", max_score=2, answers=[_answer(1)], finished=True))
    again = backend.open()
    [a] = again.attempts("quiz-a")
    assert (a.id, a.score, a.finished, [x["verdict"] for x in a.answers]) == (attempt.id, 1.5, True, ["correct", "correct", "wrong"])
    assert (a.created, a.trainee, a.max_score) == (attempt.created, "Kim Min-ji", 3.0) and a.updated >= first_update
    assert a.answers[1]["credit"] == 0.5 and len(again.attempts()) == 2 and again.attempts("nope") == []
    out = io.StringIO()
    assert again.export_attempts_csv(out) == 2
    rows = sorted(csv.DictReader(io.StringIO(out.getvalue())), key=lambda r: r["quiz_id"])
    assert [(r["trainee"], r["quiz_id"], r["score"], r["max_score"], r["finished"], r["answered"]) for r in rows] == [
        ("Kim Min-ji", "quiz-a", "1.5", "3", "1", "3"),
        ("'=HYPERLINK(1)", "quiz-b", "1", "2", "1", "1"),  # shown as text in a spreadsheet, not run as a formula
    ]
    assert [x["response"] for x in json.loads(rows[0]["answers"])] == ["1989", "1989", "1991"]
    out = io.StringIO()
    assert again.export_attempts_csv(out, quiz_id="quiz-b") == 1


def test_concurrent_attempts_lose_nothing(backend: Backend):
    backend.open()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_attempter, args=(backend.target, f"p{k}", 10)) for k in range(3)]
    threads = [threading.Thread(target=_attempter, args=(backend.target, f"t{k}", 10)) for k in range(3)]
    for w in [*procs, *threads]:
        w.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    attempts = backend.open().attempts("quiz-a")
    assert len({a.trainee for a in attempts}) == len(attempts) == 60
    assert all(a.finished and a.score == 2.0 and len(a.answers) == 3 for a in attempts)


@pytest.mark.parametrize(
    ("name", "message"), [("", "enter the trainee's name"), (" \t\n ", "trainee's name"), ("x" * (MAX_NAME_CHARS + 1), "limit is 80")]
)
def test_bad_trainee_names_are_clear_errors(backend: Backend, name: str, message: str):
    with pytest.raises(RagbotError, match=message):
        backend.open().save_attempt(Attempt(trainee=name, quiz_id="q", max_score=1))
    assert backend.open().attempts() == []
    assert clean_name("Ana\x00 \u200bLima") == "Ana Lima"
