"""`ragbot quiz take` and `ragbot quiz results` end to end, in subprocesses fed through standard input."""

from __future__ import annotations

import csv
import ctypes
import json
import os
import platform
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ragbot.userdata.sqlite import SqliteStore

from ..conftest import ROOT, sample_quiz
from ..test_cli import assert_one_line_error, ragbot

SYS_TGKILL = {"x86_64": 234, "aarch64": 131}[platform.machine()]  # Linux: a signal to one thread of a process


@pytest.fixture
def setup(tmp_path: Path, index, settings) -> tuple[Path, dict[str, str], Path]:
    """A quiz file on the test index, and a fresh data folder for the store."""
    quiz = tmp_path / "quiz.json"
    sample_quiz(index).save(quiz)
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_DATA_DIR": str(tmp_path / "data")}
    return quiz, env, tmp_path / "data" / "ragbot.sqlite3"


def test_take_a_quiz_feedback_with_source_score_review_and_results(setup, tmp_path: Path):
    quiz, env, db = setup
    answers = "b\nmaybe\nno\na full strategic partnership\n"
    proc = ragbot("quiz", "take", str(quiz), "--name", "Kim Min-ji", cwd=ROOT, env=env, stdin=answers)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Question 1 of 3 (multiple choice)" in out and "B) 90 per cent" in out
    assert "✓ Correct (your answer: 90 per cent)." in out
    assert "Source passage (ASEAN-ROK Security Cooperation in a Dual Contingency" in out and "About 90 per cent of South" in out
    assert "Not one of the choices: answer with true or false" in out  # "maybe" is asked again, not graded
    assert "✓ Correct (your answer: False)." in out and "the brief says 2024, not 2019" in out
    assert "½ Partly correct (your answer: a full strategic partnership)." in out
    assert "Score: 2.5 / 3 (83%)" in out and "answer: Comprehensive Strategic Partnership" in out.split("Review:")[1]
    [attempt] = SqliteStore(db).attempts()
    assert (attempt.trainee, attempt.quiz_id, attempt.finished) == ("Kim Min-ji", "sample-quiz", True)
    assert (attempt.score, attempt.max_score) == (2.5, 3)
    assert [(a["response"], a["verdict"], a["credit"]) for a in attempt.answers] == [
        ("90 per cent", "correct", 1.0),
        ("False", "correct", 1.0),
        ("a full strategic partnership", "partly correct", 0.5),
    ]

    listed = ragbot("quiz", "results", cwd=ROOT, env=env)
    assert listed.returncode == 0 and "Kim Min-ji" in listed.stdout and "2.5 / 3 (83%)  finished" in listed.stdout
    assert "no attempts at quiz other" in ragbot("quiz", "results", "--quiz", "other", cwd=ROOT, env=env).stderr
    exported = ragbot("quiz", "results", "--quiz", "sample-quiz", "--csv", str(tmp_path / "r.csv"), cwd=ROOT, env=env)
    assert exported.returncode == 0 and "wrote 1 quiz attempts" in exported.stderr
    [row] = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert row["trainee"] == "Kim Min-ji" and row["score"] == "2.5"
    assert [a["question_id"] for a in json.loads(row["answers"])] == ["q1", "q2", "q3"]


def test_name_on_the_first_line_a_skip_and_end_of_input_keep_the_answers_given(setup):
    quiz, env, db = setup
    proc = ragbot("quiz", "take", str(quiz), cwd=ROOT, env=env, stdin="  Ana   Lima \n\n" + "x" * 600 + "\nt\n")
    assert proc.returncode == 0, proc.stderr
    assert "The answer is 600 characters long; the limit is 500; try again." in proc.stdout
    assert "– No answer." in proc.stdout and "✗ Wrong (your answer: True)." in proc.stdout
    assert "Stopped after 2 of 3 questions; the answers given are saved." in proc.stdout and "Score: 0 / 3 (0%)" in proc.stdout
    assert "not reached" in proc.stdout
    [attempt] = SqliteStore(db).attempts()
    assert attempt.trainee == "Ana Lima" and not attempt.finished and [a["verdict"] for a in attempt.answers] == ["no answer", "wrong"]
    listed = ragbot("quiz", "results", cwd=ROOT, env=env)
    assert "unfinished (2 of 3 answered)" in listed.stdout


def _interrupt(proc: subprocess.Popen, target: str) -> None:
    """SIGINT to the process (the kernel picks a thread), or to one of its threads other than the main one (tgkill)."""
    if target == "process":
        proc.send_signal(signal.SIGINT)
        return
    others = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid)
    assert others, "the quiz runs model threads beside the main one"
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(SYS_TGKILL, proc.pid, others[-1], signal.SIGINT) == 0, ctypes.get_errno()


@pytest.mark.parametrize("target", ["process", "another thread"])
def test_ctrl_c_mid_quiz_stops_cleanly_with_the_answers_saved(setup, target):
    """Ctrl-C stops at once, whichever thread the kernel hands the signal to (one that lands on a model thread once hung here)."""
    quiz, env, db = setup
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}, **env}
    proc = subprocess.Popen([sys.executable, "-m", "ragbot.cli", "quiz", "take", str(quiz), "--name", "Lee"], cwd=ROOT, env=full_env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()

    def wait_for(text: str) -> None:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if text in lines.get(timeout=1):
                    return
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read()
        raise AssertionError(f"no {text!r} in 120 s")

    wait_for("Question 1 of 3")
    proc.stdin.write("90 per cent\n")
    proc.stdin.flush()
    wait_for("Question 2 of 3")
    _interrupt(proc, target)
    assert proc.wait(timeout=60) == 130
    reader.join(10)
    rest = "".join(lines.queue)
    assert "Stopped after 1 of 3 questions; the answers given are saved." in rest and "Score: 1 / 3" in rest
    assert "Traceback" not in proc.stderr.read()
    [attempt] = SqliteStore(db).attempts()
    assert not attempt.finished and [(a["response"], a["credit"]) for a in attempt.answers] == [("90 per cent", 1.0)]


def _other_corpus(quiz: Path) -> None:
    data = json.loads(quiz.read_text(encoding="utf-8"))
    data["corpus_fingerprint"] = "0" * 16
    quiz.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "stdin", "prepare", "fragments"),
    [
        (["--name", "Kim"], "", lambda q: q.write_text("{oops", encoding="utf-8"), ["is not a quiz file (not JSON"]),
        (["--name", "Kim"], "", lambda q: q.write_text('{"questions": []}', encoding="utf-8"), ["is not a valid quiz file"]),
        (["--name", "Kim"], "", _other_corpus, ["was made from another corpus", "generate a new quiz"]),
        (["--name", "Kim"], "", lambda q: q.unlink(), ["not found"]),
        (["--name", "   "], "", None, ["enter the trainee's name"]),
        ([], "", None, ["no trainee name: give --name NAME"]),
        (["--name", "x" * 81], "", None, ["limit is 80"]),
    ],
)
def test_bad_quiz_files_and_names_get_one_clear_line_and_save_nothing(setup, args, stdin, prepare, fragments):
    quiz, env, db = setup
    if prepare:
        prepare(quiz)
    proc = ragbot("quiz", "take", str(quiz), *args, cwd=ROOT, env=env, stdin=stdin)
    assert_one_line_error(proc, *fragments)
    assert not db.exists() or SqliteStore(db).attempts() == []


def test_results_with_no_attempts_and_an_unwritable_csv(setup, tmp_path: Path):
    _, env, _ = setup
    proc = ragbot("quiz", "results", cwd=ROOT, env=env)
    assert proc.returncode == 0 and proc.stdout == "" and "no quiz attempts yet" in proc.stderr
    assert_one_line_error(ragbot("quiz", "results", "--csv", str(tmp_path / "no" / "r.csv"), cwd=ROOT, env=env), "cannot write")
