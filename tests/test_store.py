from __future__ import annotations

import csv
import io
import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.store import MAX_NAME_CHARS, Attempt, Feedback, Store, clean_name


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


def _answer(i: int, credit: float = 1.0) -> dict:
    return {"question_id": f"q{i}", "question": f"Question {i}?", "answer": "1989", "response": "1989" if credit else "1991",
            "verdict": "correct" if credit else "wrong", "credit": credit}  # fmt: skip


def _attempter(path: str, trainee: str, n: int) -> None:
    """n attempts of a three-question quiz, each saved after every answer as the page and `quiz take` do."""
    store = Store(Path(path))
    for i in range(n):
        attempt = Attempt(trainee=f"{trainee}-{i}", quiz_id="quiz-a", max_score=3)
        for q in range(3):
            attempt.answers.append(_answer(q, credit=float(q != 1)))
            attempt.finished = q == 2
            store.save_attempt(attempt)


def test_attempts_are_saved_after_each_answer_survive_a_restart_and_export(tmp_path: Path):
    path = tmp_path / "data" / "ragbot.sqlite3"
    store = Store(path)
    attempt = Attempt(trainee="  Kim   Min-ji ", quiz_id="quiz-a", max_score=3)
    attempt.answers.append(_answer(1))
    store.save_attempt(attempt)
    saved = Store(path).attempts()  # a new process, after a crash mid-quiz, sees the answer given so far
    assert [(a.trainee, a.score, a.max_score, a.finished, len(a.answers)) for a in saved] == [("Kim Min-ji", 1.0, 3.0, False, 1)]
    attempt.answers += [_answer(2, credit=0.5), _answer(3, credit=0.0)]
    attempt.finished = True
    store.save_attempt(attempt)
    Store(path).save_attempt(Attempt(trainee="=HYPERLINK(1)", quiz_id="quiz-b", max_score=2, answers=[_answer(1)], finished=True))
    again = Store(path)
    [a] = again.attempts("quiz-a")
    assert (a.id, a.score, a.finished, [x["verdict"] for x in a.answers]) == (attempt.id, 1.5, True, ["correct", "correct", "wrong"])
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


def test_concurrent_attempts_lose_nothing(tmp_path: Path):
    path = tmp_path / "ragbot.sqlite3"
    Store(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_attempter, args=(str(path), f"p{k}", 10)) for k in range(3)]
    threads = [threading.Thread(target=_attempter, args=(str(path), f"t{k}", 10)) for k in range(3)]
    for w in [*procs, *threads]:
        w.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    attempts = Store(path).attempts("quiz-a")
    assert len({a.trainee for a in attempts}) == len(attempts) == 60
    assert all(a.finished and a.score == 2.0 and len(a.answers) == 3 for a in attempts)


@pytest.mark.parametrize(
    ("name", "message"), [("", "enter the trainee's name"), (" \t\n ", "trainee's name"), ("x" * (MAX_NAME_CHARS + 1), "limit is 80")]
)
def test_bad_trainee_names_are_clear_errors(tmp_path: Path, name: str, message: str):
    with pytest.raises(RagbotError, match=message):
        Store(tmp_path / "s.sqlite3").save_attempt(Attempt(trainee=name, quiz_id="q", max_score=1))
    assert Store(tmp_path / "s.sqlite3").attempts() == []
    assert clean_name("Ana\x00 \u200bLima") == "Ana Lima"
