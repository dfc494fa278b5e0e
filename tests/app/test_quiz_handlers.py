"""The Quiz tab's handlers called alone, on the real index and a real store: pick, upload, take, save."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbot.app.quiz_tab import QuizHandlers, quiz_folder
from ragbot.chain import Pipeline
from ragbot.userdata.sqlite import SqliteStore

from ..conftest import CSP_NAME, sample_quiz


@pytest.fixture
def handlers(pipeline: Pipeline, tmp_path: Path) -> QuizHandlers:
    served = Pipeline(pipeline.settings.model_copy(update={"data_dir": tmp_path / "data"}), pipeline.index, pipeline.encoder)
    return QuizHandlers(lambda: served, SqliteStore(tmp_path / "ragbot.sqlite3"))


def test_a_quiz_must_be_chosen_from_the_list(handlers: QuizHandlers):
    assert "Choose a quiz first." in handlers.start("Kim", None)[0]
    assert "choose a quiz from the list" in handlers.start("Kim", "../../etc/passwd")[0]


def test_a_bad_upload_is_named_by_its_file_and_nothing_is_saved(handlers: QuizHandlers, tmp_path: Path):
    bad = tmp_path / "not a quiz.json"
    bad.write_text('{"questions": "none"}', encoding="utf-8")
    message, _picker = handlers.upload_quiz(str(bad))
    assert "not a quiz.json is not a valid quiz file" in message and str(tmp_path) not in message
    assert not list(quiz_folder(handlers.current()).glob("*.json"))


def test_an_uploaded_quiz_is_taken_graded_and_saved_after_every_answer(handlers: QuizHandlers, tmp_path: Path):
    upload = tmp_path / "upload.json"
    sample_quiz(handlers.current().index).save(upload)
    message, picker = handlers.upload_quiz(str(upload))
    assert "Added sample-quiz.json: 3 questions" in message and picker.value == "sample-quiz.json"

    status, session, *_ = handlers.start("Kim", "sample-quiz.json")
    assert status == "" and session.question.id == "q1"
    feedback = handlers.submit(session, "90 per cent", "")[8]
    assert "Correct" in feedback and "rb-quiz-source" in feedback
    assert "This question is answered" in handlers.submit(session, "60 per cent", "")[0]
    assert [a.score for a in handlers.store.attempts()] == [1]  # saved after the first answer

    handlers.next_question(session)
    handlers.submit(session, "True", "")
    handlers.next_question(session)
    handlers.submit(session, None, CSP_NAME)
    end = handlers.next_question(session)
    assert "Your score: 2 / 3" in end[10]
    (saved,) = handlers.store.attempts()
    assert saved.trainee == "Kim" and saved.score == 2 and len(saved.answers) == 3
