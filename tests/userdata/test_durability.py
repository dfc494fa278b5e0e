"""The store under many writers and a killed one, on each backend: every committed row is there afterwards.

Each kind of record the store keeps is one entry of WRITERS: how to write record i (returning its
id once committed) and how to list the ids stored. A new table (quiz attempts) adds an entry and
gets the same tests.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ragbot.userdata.base import UserDataStore
from ragbot.userdata.records import Attempt, Feedback

from .backends import Backend

ROOT = Path(__file__).resolve().parents[2]


def _write_feedback(store: UserDataStore, i: int) -> str:
    fb = Feedback(rating=1 if i % 2 else -1, question=f"question {i}?", answer=f"answer {i} [1]", abstained=False,
                  citations=[{"n": 1, "passage_id": f"d.txt#{i}"}], settings={"top_k": 10}, comment=f"comment {i}")  # fmt: skip
    return store.add_feedback(fb)


def _feedback_ids(store: UserDataStore) -> set[str]:
    return {fb.id for fb in store.feedback()}


def _write_attempt(store: UserDataStore, i: int) -> str:
    response = str(1980 + i % 20)
    answers = [{"question_id": "q1", "question": "When?", "answer": "1989", "response": response, "verdict": "wrong", "credit": 0.0}]
    return store.save_attempt(Attempt(trainee=f"trainee {i}", quiz_id=f"quiz{i % 3}", max_score=1, answers=answers, finished=True))


def _attempt_ids(store: UserDataStore) -> set[str]:
    return {a.id for a in store.attempts()}


WRITERS: dict[str, tuple[Callable[[UserDataStore, int], str], Callable[[UserDataStore], set[str]]]] = {
    "feedback": (_write_feedback, _feedback_ids),
    "quiz_attempts": (_write_attempt, _attempt_ids),
}

# A writer process: THREADS threads write records of one kind and print each id once its write has returned (committed).
WRITER_PROCESS = """
import sys, threading
from tests.userdata.backends import open_target
from tests.userdata.test_durability import WRITERS
target, kind, threads, per_thread, offset = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
write, _ = WRITERS[kind]
store = open_target(target)
lock = threading.Lock()
def run(t):
    for j in range(per_thread):
        record_id = write(store, offset + t * per_thread + j)
        with lock:
            print(record_id, flush=True)
workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
"""


def _writer(target: str, kind: str, threads: int, per_thread: int, offset: int) -> subprocess.Popen[str]:
    args = [sys.executable, "-c", WRITER_PROCESS, target, kind, str(threads), str(per_thread), str(offset)]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_many_threads_and_processes_write_at_once_and_every_row_is_kept(backend: Backend, kind: str):
    write, ids = WRITERS[kind]
    store = backend.open()
    procs = [_writer(backend.target, kind, 6, 15, 10_000 * (k + 1)) for k in range(2)]  # two processes of six threads each
    written: list[str] = []
    lock = threading.Lock()

    def run(t: int) -> None:
        for j in range(15):
            record_id = write(store, t * 15 + j)
            with lock:
                written.append(record_id)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(6)]  # and six threads of this process, one UserDataStore
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        written += out.split()
    assert len(written) == len(set(written)) == 3 * 6 * 15
    assert ids(backend.open()) == set(written)
    assert backend.integrity() == "ok"


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_writer_killed_mid_run_loses_at_most_its_writes_in_flight(backend: Backend, kind: str):
    _, ids = WRITERS[kind]
    backend.open()
    rng = random.Random(5)
    committed: set[str] = set()
    threads = 4
    for run in range(3):
        proc = _writer(backend.target, kind, threads, 500, 100_000 * (run + 1))
        target = rng.randint(10, 120)
        assert proc.stdout is not None
        for seen, line in enumerate(proc.stdout, 1):  # wait until a random number of writes have committed, then kill -9
            committed.add(line.strip())
            if seen >= target:
                break
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        committed |= set(rest.split())  # ids printed before the kill landed
        assert proc.returncode == -signal.SIGKILL, "the writer finished before it was killed"
        stored = ids(backend.open())  # the store still opens
        assert committed <= stored, f"run {run}: {len(committed - stored)} committed rows lost"
        assert len(stored - committed) <= threads * (run + 1), "only writes in flight may be there unannounced"
        assert backend.integrity() == "ok"
