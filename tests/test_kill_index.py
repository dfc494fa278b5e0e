"""kill -9 of `ragbot index` and of a Milvus sync, at chosen points: what is left is no index, the old one or the whole new one.

The child stops itself (SIGSTOP) at a chosen call (the nth os.replace into a given file, a sync's nth document record)
and is then killed with SIGKILL, so each test kills at the same point on every run, whatever the machine's speed.
tests/test_crash.py kills forked builds of a tiny corpus; bench/crash_index.py kills `ragbot index` at random moments.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragbot.corpus.folder import corpus_state
from ragbot.index.changes import diff_corpus
from ragbot.index.reader import MANIFEST, VERIFIED, Index, load_index, read_manifest
from ragbot.settings import Settings
from tests.conftest import CORPUS, tail
from tests.index.conftest import new_database
from tests.test_cli import QUESTION, ragbot

# Run as `python -c STOPPER SPEC ARGS...`: `ragbot ARGS`, with SPEC's target wrapped so the process stops itself at its nth matching call.
STOPPER = """
import importlib, json, os, re, signal, sys
spec = json.loads(sys.argv[1])
module, _, path = spec["target"].partition(":")
owner = importlib.import_module(module)
*owners, name = path.split(".")
for part in owners:
    owner = getattr(owner, part)
real, calls = getattr(owner, name), [0]
def stopping(*args, **kwargs):
    hit = spec["match"] is None or re.search(spec["match"], " ".join(map(str, args))) is not None
    calls[0] += hit
    hit = hit and calls[0] == spec["nth"]
    if hit and spec["when"] == "before":
        os.kill(os.getpid(), signal.SIGSTOP)
    result = real(*args, **kwargs)
    if hit and spec["when"] == "after":
        os.kill(os.getpid(), signal.SIGSTOP)
    return result
setattr(owner, name, stopping)
from ragbot.cli import main
sys.exit(main(sys.argv[2:]))
"""

SYNC = "ragbot.index.search.milvus_sync:MilvusSync"


def kill_at(args: tuple[str, ...], target: str, root: Path, env: dict[str, str], *, when: str, nth: int = 1, match: str | None = None):
    """Run `ragbot args`, let it stop itself just before or after the nth call of target (matching match), then SIGKILL it."""
    spec = json.dumps({"target": target, "when": when, "nth": nth, "match": match})
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")} | env
    log_path = root / "killed.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", STOPPER, spec, *args], cwd=root, env=full_env, stdout=log, stderr=log)
    deadline = time.monotonic() + 300  # a hang guard only: where the child stops does not depend on time
    while True:
        pid, status = os.waitpid(proc.pid, os.WUNTRACED | os.WNOHANG)
        if pid and os.WIFSTOPPED(status):
            break
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            pytest.fail(f"`ragbot {' '.join(args)}` ended ({proc.returncode}) without reaching {target} {spec}:\n{tail(log_path)}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"`ragbot {' '.join(args)}` did not reach {target} in 300 s:\n{tail(log_path)}")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _files(index: Path) -> set[str]:
    return {p.name for p in index.iterdir()} - {MANIFEST, VERIFIED, ".lock", "extracted"}


def _change_a_brief(corpus: Path, run: int) -> None:
    brief = sorted(corpus.glob("*.txt"))[run]
    with brief.open("a", encoding="utf-8") as f:
        f.write(f"\nRun {run}: the joint maritime exercise number {run + 7} was held off Busan.\n")


def _assert_answers_with_a_citation(root: Path, env: dict[str, str]) -> None:
    asked = ragbot("ask", "--json", QUESTION, cwd=root, env=env)
    assert asked.returncode == 0, asked.stderr
    result = json.loads(asked.stdout)
    assert result["status"] == "answered" and "90 per cent" in result["answer"], result
    assert result["citations"] and result["citations"][0]["doc_id"] == "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"


def test_kill_9_of_ragbot_index_at_three_points_leaves_no_index_or_a_whole_one(tmp_path: Path):
    root, index = tmp_path, tmp_path / "index"
    shutil.copytree(CORPUS, root / "corpus")
    env = {"RAGBOT_INDEX_DIR": str(index), "RAGBOT_CORPUS_DIR": str(root / "corpus")}
    settings = Settings(corpus_dir=root / "corpus", index_dir=index)

    # 1. The first build, killed once its first artifact file is complete: no manifest, so no index, and ragbot says so.
    kill_at(("index",), "os:replace", root, env, when="after", match=r"/passages-[^/]*\.jsonl$")
    assert any(index.glob("passages-*.jsonl")) and read_manifest(index) is None
    none = ragbot("ask", QUESTION, cwd=root, env=env)
    assert none.returncode != 0 and "no index in" in none.stderr and "Traceback" not in none.stderr, none.stderr
    built = ragbot("index", cwd=root, env=env)
    assert built.returncode == 0 and "index ready" in built.stderr, built.stderr
    first = load_index(index).manifest["build"]

    # 2. A brief changed; the build killed just before its manifest switch (every new file written): the previous build, whole.
    _change_a_brief(root / "corpus", 0)
    before = _files(index)
    kill_at(("index",), "os:replace", root, env, when="before", match=r"/manifest\.json$")
    assert _files(index) - before, "the killed build had written its new files"
    assert load_index(index).manifest["build"] == first

    # 3. Killed just after the switch, before it removed the old build's files: the new build, whole and of the changed corpus.
    kill_at(("index",), "os:replace", root, env, when="after", match=r"/manifest\.json$")
    new = load_index(index)
    assert new.manifest["build"] != first and not diff_corpus(new.manifest, corpus_state(root / "corpus"), settings).stale
    referenced = {a["file"] for a in new.manifest["artifacts"].values()}
    assert _files(index) - referenced, "the old build's files were still there when it died"

    # 4. The second kill's brief change is in; a new change: both reruns succeed and leave only the live build's files.
    again = ragbot("index", cwd=root, env=env)
    assert again.returncode == 0 and "up to date" in again.stderr, again.stderr
    _change_a_brief(root / "corpus", 1)
    rebuilt = ragbot("index", cwd=root, env=env)
    assert rebuilt.returncode == 0 and "index ready" in rebuilt.stderr, rebuilt.stderr
    assert _files(index) == {a["file"] for a in read_manifest(index)["artifacts"].values()}
    _assert_answers_with_a_citation(root, env)


def _milvus_state(uri: str) -> tuple[dict[str, str], dict[int, tuple[str, str]], set[int]]:
    """Milvus' documents records (doc_id: signature), passage rows (row: doc_id, text) and sentence keys."""
    from pymilvus import MilvusClient

    from ragbot.index.search.milvus_client import GRPC_OPTIONS

    client = MilvusClient(uri=uri, grpc_options=GRPC_OPTIONS)
    try:
        records = {r["doc_id"]: r["sig"] for r in client.query("ragbot_documents", filter="key >= 0", output_fields=["doc_id", "sig"])}
        rows = client.query("ragbot_passages", filter="row >= 0", output_fields=["row", "doc_id", "text"], limit=16384)
        keys = {r["key"] for r in client.query("ragbot_sentences", filter="key >= 0", output_fields=["key"], limit=16384)}
    finally:
        client.close()
    return records, {r["row"]: (r["doc_id"], r["text"]) for r in rows}, keys


def test_kill_9_of_a_milvus_sync_twice_then_it_resyncs_fully(index: Index, settings: Settings, milvus_uri: str, tmp_path: Path):
    shutil.copytree(settings.index_dir, tmp_path / "index", symlinks=True)
    uri = new_database(milvus_uri)
    env = {"RAGBOT_INDEX_DIR": str(tmp_path / "index"), "RAGBOT_CORPUS_DIR": str(CORPUS)}
    move = ("index", "--to", "milvus", "--milvus-uri", uri)
    briefs = sorted(d for d, rows in index.document_rows.items() if len(rows))

    # 1. Killed at its first write of rows: every brief is marked as being written, none is current.
    kill_at(move, f"{SYNC}.add", tmp_path, env, when="before")
    records, _, _ = _milvus_state(uri)
    assert records == dict.fromkeys(briefs, "")

    # 2. The next sync killed once three briefs are whole: those three current, the rest still marked.
    kill_at(move, f"{SYNC}._record", tmp_path, env, when="after", nth=3)
    records, _, _ = _milvus_state(uri)
    assert sorted(d for d, sig in records.items() if sig) == briefs[:3] and sorted(records) == briefs

    resync = ragbot(*move, cwd=tmp_path, env=env)
    n, m = len(index.passages), len(index.sentence_vectors)
    assert resync.returncode == 0, resync.stderr
    assert f"wrote {len(briefs) - 3} briefs" in resync.stderr
    assert f"Milvus now holds the whole index: {len(briefs)} briefs, {n} passages, {m} sentences" in resync.stderr
    records, rows, keys = _milvus_state(uri)
    assert all(records.values()) and sorted(records) == briefs
    assert rows == {i: (p.doc_id, p.embedding_text(True)) for i, p in enumerate(index.passages)}
    assert keys == {i * 4096 + j for i in range(n) for j in range(len(index.sentences_of(i)))}
    again = ragbot(*move, cwd=tmp_path, env=env)
    assert again.returncode == 0 and "nothing written" in again.stderr, again.stderr
    _assert_answers_with_a_citation(tmp_path, {**env, "RAGBOT_VECTOR_STORE": "milvus", "RAGBOT_MILVUS_URI": uri})
