"""`ragbot backup create | restore`: feedback, quiz results, the corpus and quiz files survive onto a fresh deployment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragbot.settings import Settings
from ragbot.userdata.factory import open_userdata
from ragbot.userdata.records import Attempt, Feedback

from .conftest import copy_small_corpus
from .test_cli import assert_one_line_error, ragbot

ANSWER = {"question_id": "q1", "question": "Which figure?", "answer": "90 per cent", "response": "90 per cent", "verdict": "correct",
          "credit": 1.0}  # fmt: skip


def deployment(root: Path, store_url: str = "") -> dict[str, str]:
    """The settings of a deployment living in root (its corpus, index and data folders), as RAGBOT_* variables."""
    env = {"RAGBOT_CORPUS_DIR": str(root / "corpus"), "RAGBOT_INDEX_DIR": str(root / "index"), "RAGBOT_DATA_DIR": str(root / "data")}
    return {**env, **({"RAGBOT_STORE_URL": store_url} if store_url else {})}


def settings_of(env: dict[str, str]) -> Settings:
    return Settings.load(env=env)


@pytest.fixture
def kept(tmp_path: Path) -> tuple[dict[str, str], list[Feedback], list[Attempt], Path]:
    """A deployment with feedback, quiz attempts (one finished, one half-way), a quiz file and a corpus; backed up."""
    env = deployment(tmp_path / "a")
    copy_small_corpus(tmp_path / "a" / "corpus")
    store = open_userdata(settings_of(env))
    store.add_feedback(
        Feedback(1, "What share?", "About 90 per cent [1]", False, [{"n": 1, "passage_id": "p-1"}], {"engine": "llm"}, "good")
    )
    store.add_feedback(Feedback(-1, "Who won in 2031?", "", True, [], {"engine": "extractive"}, "not useful — “quotes” ü"))
    store.save_attempt(Attempt("Ana Lima", "sample-quiz", 3.0, [ANSWER], True))
    store.save_attempt(Attempt("Bo", "sample-quiz", 3.0, [], False))
    quizzes = tmp_path / "a" / "data" / "quizzes"
    quizzes.mkdir(parents=True)
    (quizzes / "sample-quiz.json").write_text('{"id": "sample-quiz"}\n', encoding="utf-8")
    out = tmp_path / "backup"
    made = ragbot("backup", "create", str(out), cwd=tmp_path, env=env)
    assert made.returncode == 0 and "2 feedback records, 2 quiz attempts" in made.stderr, made.stderr
    return env, store.feedback(), store.attempts(), out


def test_a_restore_onto_a_fresh_data_folder_gives_everything_back_and_answers(kept, tmp_path: Path):
    env, feedback, attempts, out = kept
    fresh = deployment(tmp_path / "b")
    restored = ragbot("backup", "restore", str(out), cwd=tmp_path, env=fresh)
    assert restored.returncode == 0 and "restored 2 feedback records, 2 quiz attempts" in restored.stderr, restored.stderr
    store = open_userdata(settings_of(fresh))
    assert store.feedback() == feedback and store.attempts() == attempts  # ids, times, comments, answers: all the same
    old, new = Path(env["RAGBOT_CORPUS_DIR"]), Path(fresh["RAGBOT_CORPUS_DIR"])
    assert sorted(p.name for p in new.iterdir()) == sorted(p.name for p in old.iterdir())
    assert all((new / p.name).read_bytes() == p.read_bytes() for p in old.iterdir())
    assert (tmp_path / "b" / "data" / "quizzes" / "sample-quiz.json").read_text(encoding="utf-8") == '{"id": "sample-quiz"}\n'
    again = ragbot("backup", "restore", str(out), cwd=tmp_path, env=fresh)  # twice: nothing doubled
    assert again.returncode == 0 and "restored 0 feedback records" in again.stderr, again.stderr
    assert len(store.feedback()) == 2 and len(store.attempts()) == 2
    results = ragbot("quiz", "results", cwd=tmp_path, env=fresh)
    assert results.returncode == 0 and "Ana Lima" in results.stdout, results.stderr
    assert ragbot("index", cwd=tmp_path, env=fresh).returncode == 0  # the index is rebuilt, not restored
    asked = ragbot(
        "ask", "--json", "What share of South Korea's energy supplies passes through the Malacca Strait?", cwd=tmp_path, env=fresh
    )
    assert asked.returncode == 0 and "90 per cent" in json.loads(asked.stdout)["answer"], asked.stderr


def test_a_sqlite_backup_restores_into_postgresql(kept, tmp_path: Path, postgres_server):
    _, feedback, attempts, out = kept
    fresh = deployment(tmp_path / "pg", postgres_server.new_database())
    restored = ragbot("backup", "restore", str(out), cwd=tmp_path, env=fresh)
    assert restored.returncode == 0, restored.stderr
    store = open_userdata(settings_of(fresh))
    assert store.feedback() == feedback and store.attempts() == attempts


def test_bad_backups_are_one_line_and_write_nothing(kept, tmp_path: Path):
    env, _, _, out = kept
    assert_one_line_error(ragbot("backup", "create", str(out), cwd=tmp_path, env=env), "already exists")
    assert_one_line_error(ragbot("backup", "restore", str(tmp_path), cwd=tmp_path, env=env), "not a backup folder")
    fresh = deployment(tmp_path / "c")
    corpus = Path(fresh["RAGBOT_CORPUS_DIR"])
    corpus.mkdir(parents=True)
    name = next(p.name for p in (out / "corpus").iterdir() if p.suffix == ".txt")
    (corpus / name).write_text("another text under the same name\n", encoding="utf-8")
    assert_one_line_error(ragbot("backup", "restore", str(out), cwd=tmp_path, env=fresh), "differs from the backup")
    assert open_userdata(settings_of(fresh)).feedback() == []  # refused before any record was written
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "backup.json").write_text((out / "backup.json").read_text(encoding="utf-8"), encoding="utf-8")
    (broken / "userdata.jsonl").write_text('{"kind": "feedback", "record": {"rating": 1}}\n', encoding="utf-8")
    assert_one_line_error(ragbot("backup", "restore", str(broken), cwd=tmp_path, env=deployment(tmp_path / "d")), "line 1")
