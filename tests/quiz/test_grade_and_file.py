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
