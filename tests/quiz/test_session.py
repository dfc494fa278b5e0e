"""A quiz session, shared by the terminal and the page: choices, grading once, saving after each answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.quiz.model import Quiz
from ragbot.quiz.session import Session, choice, clean_response, source_spans
from ragbot.userdata.sqlite import SqliteStore

from .test_grade_and_file import MCQ, SHORT, SRC, TF


def test_choices_accept_letters_option_text_and_yes_no():
    assert [choice(MCQ, x) for x in ("b", " B ", "1989", "2004", "E", "1990")] == ["1989", "1989", "1989", "2004", None, None]
    assert [choice(TF, x) for x in ("t", "FALSE", "yes", "n", "maybe")] == ["True", "False", "True", "False", None]
    assert choice(SHORT, "  the   ARF ") == "the ARF"
    assert clean_response("a\x00b\u200b c\n") == "a b c"
    with pytest.raises(RagbotError, match="limit is 500"):
        clean_response("x" * 501)


def test_each_question_is_graded_once_and_the_attempt_saved_after_every_answer(tmp_path: Path):
    store = SqliteStore(tmp_path / "s.sqlite3")
    session = Session.start(Quiz("qz", "2026", "f" * 16, [MCQ, TF, SHORT]), " Ana ")
    assert session.question is MCQ and not session.answered
    assert session.submit("B", store, None).verdict == "correct"
    with pytest.raises(RagbotError, match="already answered"):
        session.submit("A", store, None)  # a second click on Submit does not grade the next question
    [saved] = store.attempts()
    assert (saved.trainee, saved.score, saved.finished, len(saved.answers)) == ("Ana", 1.0, False, 1)
    assert session.next() is TF and session.next() is TF  # Next waits for an answer
    assert session.submit("yes", store, None).verdict == "wrong"
    session.next()
    assert session.submit("", store, None).verdict == "no answer"
    assert session.next() is None and session.done
    [saved] = store.attempts()
    assert saved.finished and [a["response"] for a in saved.answers] == ["1989", "True", ""]
    assert [row[1] for row in session.review()] == ["correct", "wrong", "no answer"]
    with pytest.raises(RagbotError, match="quiz is over"):
        session.submit("x", store, None)


def test_an_answer_that_cannot_be_saved_is_not_counted(tmp_path: Path):
    class Broken(SqliteStore):
        def save_attempt(self, attempt):
            raise RagbotError("disk full")

    session = Session.start(Quiz("qz", "2026", "f" * 16, [MCQ]), "Ana")
    with pytest.raises(RagbotError, match="disk full"):
        session.submit("B", Broken(tmp_path / "s.sqlite3"), None)
    assert session.attempt.answers == [] and not session.answered  # the trainee can submit it again


def test_the_source_passage_marks_the_quoted_sentence_else_the_key():
    sentence = "ASEAN and Korea set up the partnership in 1989 in Jakarta."
    quoted = replace(MCQ, explanation=f"“{sentence}” (A brief, Intro)")
    assert source_spans(quoted) == [(0, len(sentence))]
    assert [SRC.text[s:e] for s, e in source_spans(MCQ)] == ["1989"]  # "“… in 1989 …”" is not in the passage
    assert source_spans(TF) == []
