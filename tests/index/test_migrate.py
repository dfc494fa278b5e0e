"""`ragbot index --to milvus`: the local index written into Milvus (Milvus Lite as a real local server), nothing re-embedded."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ragbot.index.reader import Index
from ragbot.settings import Settings
from tests.conftest import CORPUS, ROOT
from tests.index.conftest import free_port, new_database
from tests.test_cli import assert_one_line_error, ragbot

QUESTIONS = ROOT / "eval" / "briefs_qa.jsonl"


@pytest.fixture(scope="module")
def library(index: Index, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's index of the whole corpus, in a folder of its own (the corpus itself is only read)."""
    root = tmp_path_factory.mktemp("migrate")
    shutil.copytree(settings.index_dir, root / "index", symlinks=True)
    return root


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {"RAGBOT_INDEX_DIR": str(root / "index"), "RAGBOT_CORPUS_DIR": str(CORPUS), **extra}


def _files(folder: Path) -> dict[str, str]:
    """Every file under folder with its sha256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _citations(result: dict) -> list[tuple[str, list[list[int]], str]]:
    return [(c["passage_id"], c["spans"], c["quote"]) for c in result["citations"]]


def test_index_to_milvus_keeps_every_passage_and_answers_cite_alike(library, index, milvus_uri):
    """Every local passage row lands in Milvus with its doc_id and text; answers on Milvus cite the same passages and offsets."""
    from pymilvus import MilvusClient

    from ragbot.index.search.milvus_client import GRPC_OPTIONS

    uri, env, before = new_database(milvus_uri), _env(library), _files(library / "index")
    moved = ragbot("index", "--to", "milvus", "--milvus-uri", uri, cwd=library, env=env)
    n, m = len(index.passages), len(index.sentence_vectors)
    assert moved.returncode == 0, moved.stderr
    assert f"wrote {len(index.documents)} briefs ({n} passages, {m} sentences)" in moved.stderr
    assert f"Milvus now holds the whole index: {len(index.documents)} briefs, {n} passages, {m} sentences" in moved.stderr
    assert f'no setting was changed: to answer from Milvus, set vector_store = "milvus" and milvus_uri = "{uri}"' in moved.stderr
    assert _files(library / "index") == before  # the local index is left as it was

    client = MilvusClient(uri=uri, grpc_options=GRPC_OPTIONS)
    rows = client.query("ragbot_passages", filter="row >= 0", output_fields=["row", "doc_id", "text"], limit=16384)
    local = {i: (p.doc_id, p.embedding_text(True)) for i, p in enumerate(index.passages)}
    assert {r["row"]: (r["doc_id"], r["text"]) for r in rows} == local
    keys = {r["key"] for r in client.query("ragbot_sentences", filter="key >= 0", output_fields=["key"], limit=16384)}
    assert keys == {i * 4096 + j for i in range(n) for j in range(len(index.sentences_of(i)))}
    client.close()

    again = ragbot("index", "--to", "milvus", "--milvus-uri", uri, cwd=library, env=env)
    assert again.returncode == 0 and "already held the index" in again.stderr and "nothing written" in again.stderr, again.stderr

    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()[::12]  # 8 questions across the set
    (library / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    on_faiss = ragbot("ask", "--jsonl", "questions.jsonl", cwd=library, env=env)
    milvus_env = _env(library, RAGBOT_VECTOR_STORE="milvus", RAGBOT_MILVUS_URI=uri)
    on_milvus = ragbot("ask", "--jsonl", "questions.jsonl", cwd=library, env=milvus_env)
    assert on_faiss.returncode == 0 and on_milvus.returncode == 0, on_faiss.stderr + on_milvus.stderr
    assert "milvus:" not in on_milvus.stderr  # Milvus was current: the start wrote nothing
    faiss, milvus = ([json.loads(line) for line in out.stdout.splitlines()] for out in (on_faiss, on_milvus))
    assert len(faiss) == len(milvus) == len(lines) and sum(bool(r["citations"]) for r in faiss) >= 6
    for a, b in zip(faiss, milvus, strict=True):
        assert (b["status"], b["answer"], _citations(b)) == (a["status"], a["answer"], _citations(a)), a["question"]
        assert [h["passage_id"] for h in b["retrieved"]] == [h["passage_id"] for h in a["retrieved"]], a["question"]
    assert _files(library / "index") == before


def test_index_to_milvus_mistakes_are_one_line(library, milvus_uri):
    """Options that do not go together (exit code 2), an unreachable server, a missing database or index (exit code 1)."""
    env, before = _env(library), _files(library / "index")
    for args, fragment in (
        (["--milvus-uri", milvus_uri], "--milvus-uri goes with --to milvus"),
        (["--to", "milvus", "--rebuild"], "--to milvus copies the index as built"),
        (["--to", "milvus", "--milvus-uri", "milvus.txt"], "must be http://host:port or a Milvus Lite path ending in .db"),
    ):
        proc = ragbot("index", *args, cwd=library, env=env)
        assert_one_line_error(proc, "ragbot index: error: ", fragment)
        assert proc.returncode == 2
    down = ragbot("index", "--to", "milvus", "--milvus-uri", f"http://127.0.0.1:{free_port()}", cwd=library, env=env)
    assert_one_line_error(down, "cannot reach Milvus at http://127.0.0.1:")
    no_database = ragbot("index", "--to", "milvus", "--milvus-uri", f"{milvus_uri}/nosuchdb", cwd=library, env=env)
    assert_one_line_error(no_database, f"Milvus at {milvus_uri}/nosuchdb failed:", "nosuchdb")
    no_index = ragbot("index", "--to", "milvus", "--milvus-uri", milvus_uri, cwd=library, env=_env(library, RAGBOT_INDEX_DIR="none"))
    assert_one_line_error(no_index, "no index in none/")
    assert {down.returncode, no_database.returncode, no_index.returncode} == {1}
    assert _files(library / "index") == before and not (library / "none").exists()
