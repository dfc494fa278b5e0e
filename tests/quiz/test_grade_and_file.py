from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.quiz.grade import grade
from ragbot.quiz.model import Question, Quiz, Source, corpus_fingerprint, load_quiz

SRC = Source("d.txt#1", "d.txt", "A brief", "ASEAN and Korea set up the partnership in 1989 in Jakarta.")
MCQ = Question("q1", "mcq", "Which year …?", "1989", "“… in 1989 …” (A brief)", SRC, ["1991", "1989", "2004", "2010"], "year")
TF = Question("q2", "truefalse", "True or false? …", "False", "False: the brief says 1989, not 1991.", SRC, None, "year")
SHORT = Question("q3", "short", "Fill in the blank (organisation) …", "ASEAN Regional Forum (ARF)", "“…”", SRC, None, "organisation")


def test_multiple_choice_and_true_false_are_exact():
    assert grade(MCQ, "1989").score == 1.0 and grade(MCQ, "B").score == 1.0 and grade(MCQ, " 1989 ").verdict == "correct"
    assert grade(MCQ, "1991").score == 0.0 and grade(MCQ, "A").verdict == "wrong"
    assert grade(TF, "false").score == 1.0 and grade(TF, "F").score == 1.0 and grade(TF, "true").score == 0.0
    assert "Answer True or False" in grade(TF, "maybe").explanation


def test_short_answers_full_partial_wrong_and_empty(pipeline):
    encoder = pipeline.encoder
    assert grade(SHORT, "It was the ASEAN Regional Forum (ARF).", encoder).score == 1.0
    partial = grade(SHORT, "the ASEAN regional security forum", encoder)
    assert partial.score == 0.5 and partial.verdict == "partly correct"
    assert grade(SHORT, "the European Union", encoder).score == 0.0
    empty = grade(SHORT, "   ", encoder)
    assert empty.score == 0.0 and empty.verdict == "no answer" and "Source:" in empty.explanation
    assert [grade(SHORT, "the ASEAN regional security forum", encoder).score for _ in range(3)] == [0.5] * 3


def test_quiz_file_round_trips_and_bad_files_are_refused(tmp_path: Path, index):
    fp = corpus_fingerprint(index.documents)
    quiz = Quiz("abc", "2026-11-22T12:00:00+00:00", fp, [MCQ, TF, SHORT])
    path = tmp_path / "quiz.json"
    quiz.save(path)
    assert load_quiz(path, fp).to_dict() == quiz.to_dict()
    with pytest.raises(RagbotError, match="made from another corpus"):
        load_quiz(path, "0" * 16)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RagbotError, match="not a quiz file"):
        load_quiz(bad)
    data = quiz.to_dict()
    data["questions"][0]["answer"] = "1975"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RagbotError, match="not one of its options"):
        load_quiz(bad)
    del data["questions"][1]["source"]
    data["questions"][0]["answer"] = "1989"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RagbotError, match="not a valid quiz file"):
        load_quiz(bad)


def _broken(data: dict, change) -> dict:
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.clear(), "non-empty 'questions' list"),
        (lambda d: d.update(questions=[]), "non-empty 'questions' list"),
        (lambda d: d.update(questions="q1"), "non-empty 'questions' list"),
        (lambda d: d["questions"].__setitem__(0, "q1"), "question 1 is not an object"),
        (lambda d: d["questions"][1].update(type="essay"), "question 2 has unknown type 'essay'"),
        (lambda d: d["questions"][0].update(options="1989"), "question 1 is multiple choice but has no list"),
        (lambda d: d["questions"][0].update(options=["1989", "1989 "]), "question 1 has the same option twice"),
        (lambda d: d["questions"][1].update(answer="Maybe"), "question 2 is true/false but its answer is 'Maybe'"),
        (lambda d: d["questions"][2].update(options=["a", "b"]), "question 3 is short but has options"),
        (lambda d: d["questions"][2].update(question=["a list"]), "question 3 needs 'question' as non-empty text"),
        (lambda d: d["questions"][2].update(answer="  "), "question 3 needs 'answer' as non-empty text"),
        (lambda d: d["questions"][2]["source"].update(text=None), "question 3's source needs 'text'"),
        (lambda d: d["questions"][2].update(id="q1"), "question 3 repeats the id 'q1'"),
        (lambda d: d.update(quiz_id=7), "the quiz needs 'quiz_id'"),
        (lambda d: d.update(questions=d["questions"] * 70), "the limit is 200"),
    ],
)
def test_malformed_quiz_files_are_one_clear_error(tmp_path: Path, change, message):
    path = tmp_path / "quiz.json"
    path.write_text(json.dumps(_broken(Quiz("abc", "2026", "f" * 16, [MCQ, TF, SHORT]).to_dict(), change)), encoding="utf-8")
    with pytest.raises(RagbotError, match="is not a valid quiz file") as caught:
        load_quiz(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_unreadable_and_binary_quiz_files_are_one_clear_error(tmp_path: Path):
    with pytest.raises(RagbotError, match="not found"):
        load_quiz(tmp_path / "nope.json")
    with pytest.raises(RagbotError, match="cannot read the quiz file"):
        load_quiz(tmp_path)
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00PK")
    with pytest.raises(RagbotError, match="not a quiz file"):
        load_quiz(tmp_path / "bin.json")
