"""One suite over both SearchStores: FAISS and local files, and Milvus (Milvus Lite started as a real gRPC server)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest

from ragbot.errors import RagbotError
from ragbot.index.lock import build_lock
from ragbot.index.reader import Index
from ragbot.index.search.base import SearchStore
from ragbot.index.search.faiss_store import FaissStore
from ragbot.index.term_sets import QueryTerms
from ragbot.index.writer import build_index
from ragbot.retrieval import Retriever
from ragbot.settings import Settings
from tests.conftest import copy_small_corpus
from tests.index.conftest import free_port, new_database
from tests.test_retrieval import KNOWN

ONLY = "2013-12_rsis_south-korea-defence-diplomacy-east-asia.txt"


def _milvus(index: Index, settings, uri: str):  # type: ignore[no-untyped-def]
    from ragbot.index.search.milvus_store import MilvusStore

    milvus_settings = settings.model_copy(update={"vector_store": "milvus", "milvus_uri": uri})
    return MilvusStore.connect(index, milvus_settings, prefix=f"t{uuid.uuid4().hex[:8]}", log=lambda _m: None)


@pytest.fixture(scope="module", params=["faiss", "milvus"])
def store(request: pytest.FixtureRequest, pipeline) -> SearchStore:  # type: ignore[no-untyped-def]
    if request.param == "faiss":
        return FaissStore(pipeline.index, pipeline.settings)
    return _milvus(pipeline.index, pipeline.settings, request.getfixturevalue("milvus_uri"))


@pytest.fixture(scope="module")
def retriever(store: SearchStore, pipeline) -> Retriever:  # type: ignore[no-untyped-def]
    return Retriever(pipeline.index, pipeline.encoder, pipeline.settings, store)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_known_questions_find_their_passage(retriever, mode):
    found = 0
    for question, phrase in KNOWN:
        hits = retriever.run(question, k=5, mode=mode).hits
        found += any(phrase in h.passage.text for h in hits)
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    assert found >= len(KNOWN) - (1 if mode == "bm25" else 0)


def test_hybrid_ranks_as_on_faiss(retriever, pipeline):
    """Sentence-level scoring on top of either store's candidates: the answer first as often, the same top passage and score."""
    first = 0
    for question, phrase in KNOWN:
        mine, faiss = retriever.run(question, k=3).hits, pipeline.retriever.run(question, k=3).hits
        first += phrase in mine[0].passage.text
        assert mine[0].passage.passage_id == faiss[0].passage.passage_id
        assert mine[0].score == pytest.approx(faiss[0].score, abs=1e-4)
    assert first >= 4


def test_document_filter_and_k(retriever):
    for mode in ("dense", "hybrid"):
        hits = retriever.run("defence cooperation with ASEAN", k=7, docs={ONLY}, mode=mode).hits
        assert len(hits) == 7 and {h.passage.doc_id for h in hits} == {ONLY}
    assert {h.passage.doc_id for h in retriever.run("defence cooperation", k=7, docs={ONLY}, mode="bm25").hits} == {ONLY}


def test_a_hybrid_score_is_best_sentence_plus_second_plus_cosine(retriever, pipeline):
    s = pipeline.settings
    for h in retriever.run("Why might peace cooperation work better than security cooperation for ASEAN and Korea?", k=5).hits:
        best, second = sorted(h.sentence_scores, reverse=True)[:2] if len(h.sentence_scores) > 1 else (h.sentence_scores[0], 0.0)
        assert h.score == pytest.approx(best + s.second_sentence_weight * second + s.passage_weight * h.dense, abs=1e-5)


def test_dense_top_k_and_vectors_match_the_local_index(store, pipeline):
    index = pipeline.index
    query = index.passage_vectors()[3]
    rows, sims = store.dense(query, 5, None)
    assert rows[0] == 3 and sims[0] == pytest.approx(1.0, abs=1e-4) and list(sims) == sorted(sims, reverse=True)
    expected = FaissStore(index, pipeline.settings).dense(query, 5, None)[0]
    assert set(rows.tolist()) == set(expected.tolist())
    np.testing.assert_allclose(store.passage_vectors(rows), index.passage_vectors()[rows], atol=1e-6)
    allowed = set(index.rows_of({ONLY}).tolist())
    assert set(store.dense(query, 5, {ONLY})[0].tolist()) <= allowed
    assert not len(store.dense(query, 0, None)[0])


def test_keyword_candidates_score_positive_and_respect_the_filter(store, pipeline):
    found = store.keyword("Malacca Strait energy supplies", 10, None)
    assert 0 < len(found.rows) <= 10 and (found.scores_of(found.rows) > 0).all()
    assert any("Malacca" in pipeline.index.passages[int(r)].text for r in found.rows)
    allowed = set(pipeline.index.rows_of({ONLY}).tolist())
    assert set(store.keyword("defence cooperation", 10, {ONLY}).rows.tolist()) <= allowed
    assert not len(store.keyword("zzzqqq", 10, None).rows)


def test_sentences_and_term_coverage_match_the_local_index(store, pipeline):
    index = pipeline.index
    rows = np.array([0, 5, 17, 2], dtype=np.int64)
    terms = QueryTerms.of({"korea": 0.5, "asean": 0.3, "malacca": 0.2})
    got, want = store.sentences(rows, terms), FaissStore(index, pipeline.settings).sentences(rows, terms)
    np.testing.assert_array_equal(got.counts, want.counts)
    np.testing.assert_allclose(got.vectors, want.vectors, atol=1e-6)
    np.testing.assert_array_equal(got.cover, want.cover)  # the same floats: added up in the same order
    np.testing.assert_array_equal(got.passage_cover, want.passage_cover)
    assert store.term_weight("korea") == pytest.approx(FaissStore(index, pipeline.settings).term_weight("korea"))


def test_candidates_are_the_passage_vectors_and_sentences_read_at_once(store):
    """What the retriever reads in one call is exactly what the two separate reads give (none rows too)."""
    terms = QueryTerms.of({"korea": 0.5, "asean": 0.3, "malacca": 0.2})
    for rows in (np.array([17, 0, 5, 2], dtype=np.int64), np.zeros(0, np.int64)):
        got, sentences = store.candidates(rows, terms), store.sentences(rows, terms)
        np.testing.assert_array_equal(got.vectors, store.passage_vectors(rows))
        for field in ("vectors", "counts", "cover", "passage_cover"):
            np.testing.assert_array_equal(getattr(got.sentences, field), getattr(sentences, field))


def test_milvus_adds_and_removes_a_documents_rows(pipeline, milvus_uri):
    """Brought up to date document by document: a removed brief's rows leave Milvus, an added one's arrive in their place."""
    index, settings = pipeline.index, pipeline.settings
    docs = sorted(index.document_rows)
    a, b, c = docs[:3]

    def subset(keep: list[str]) -> Index:
        rows = [i for d in keep for i in index.document_rows[d]]
        passages = [index.passages[i] for i in rows]
        sentences = np.vstack([index.sentences_of(i) for i in rows])
        return Index.from_arrays({}, passages, index.passage_vectors()[rows], sentences, settings)

    from ragbot.index.search.milvus_store import MilvusStore
    from ragbot.index.search.milvus_sync import MilvusSync

    first = _milvus(subset([a, b]), settings, milvus_uri)
    assert set(first.keyword("cooperation", 50, {b}).rows.tolist())
    second, writer = (
        MilvusStore(first.client, subset([a, c]), settings, first.prefix),
        MilvusSync(first.client, subset([a, c]), settings, first.prefix),
    )
    written, deleted = writer.sync(log=lambda _m: None)
    assert written == [c] and deleted == [b]
    assert not len(second.keyword("cooperation", 50, {b}).rows) and not len(second.dense(index.passage_vectors()[0], 5, {b})[0])
    c_rows = set(second.index.document_rows[c])
    assert set(second.dense(index.passage_vectors()[index.document_rows[c].start], 3, {c})[0].tolist()) <= c_rows
    assert writer.sync(log=lambda _m: None) == ([], [])  # in step: nothing rewritten


class Crash(Exception):
    """A writer stopped at this point (killed, or the server gone)."""


def _whole(store, index: Index) -> None:  # type: ignore[no-untyped-def]
    """Milvus holds exactly the index: one current record per brief, every passage and sentence once, none else."""
    rows = {d: r for d, r in index.document_rows.items() if len(r)}
    assert store.records() == {d: store._signature(d, r) for d, r in rows.items()}
    assert store.held() == (len(rows), len(index.passages), len(index.sentence_vectors))
    got = store.client.query(store.passages, filter="row >= 0", output_fields=["row", "doc_id"], limit=16384)
    assert sorted((r["row"], r["doc_id"]) for r in got) == [(i, p.doc_id) for i, p in enumerate(index.passages)]


@pytest.mark.parametrize("stop", ["before its record", "between its passages and sentences"])
def test_a_write_stopped_midway_is_repaired_by_the_next_sync(stop, pipeline, milvus_uri, monkeypatch):
    """A writer stopped inside a brief: the next start rewrites that brief and the ones not reached, and nothing else."""
    from ragbot.index.search.milvus_sync import MilvusSync

    index, settings = pipeline.index, pipeline.settings
    docs = sorted(d for d, r in index.document_rows.items() if len(r))
    victim = docs[1]
    store = MilvusSync(_milvus(index, settings, milvus_uri).client, index, settings, f"t{uuid.uuid4().hex[:8]}")
    record, insert = store._record, store.client.insert

    def record_but_the_victims(doc_id: str, rows: range, signature: str) -> None:
        if doc_id == victim:
            raise Crash
        record(doc_id, rows, signature)

    def insert_but_the_victims_sentences(name: str, items: list[dict]) -> object:
        if name == store.sentences_ and items[0]["doc_id"] == victim:
            raise Crash
        return insert(name, items)

    if stop == "before its record":
        monkeypatch.setattr(store, "_record", record_but_the_victims)
    else:
        monkeypatch.setattr(store.client, "insert", insert_but_the_victims_sentences)
    with pytest.raises(Crash):
        store.sync(log=lambda _m: None)
    monkeypatch.undo()
    left = store.records()
    assert left[docs[0]] == store._signature(docs[0], index.document_rows[docs[0]]) and left[victim] == ""  # marked unfinished
    again = MilvusSync(store.client, index, settings, store.prefix)
    assert again.sync(log=lambda _m: None) == (docs[1:], docs[1:])  # the victim and those after it, all marked before any write
    _whole(again, index)
    assert again.sync(log=lambda _m: None) == ([], [])


def test_a_removal_stopped_midway_is_finished_by_the_next_sync(pipeline, milvus_uri, monkeypatch):
    """A removed brief's rows go before its record: stopped between the two, the record is left and the next start removes it."""
    from ragbot.index.search.milvus_sync import MilvusSync

    index, settings = pipeline.index, pipeline.settings
    victim = sorted(index.document_rows)[1]
    rows = [i for d in sorted(index.document_rows) if d != victim for i in index.document_rows[d]]
    sentences = np.vstack([index.sentences_of(i) for i in rows])
    smaller = Index.from_arrays({}, [index.passages[i] for i in rows], index.passage_vectors()[rows], sentences, settings)
    full = _milvus(index, settings, milvus_uri)
    store = MilvusSync(full.client, smaller, settings, full.prefix)
    delete = store.client.delete

    def delete_but_records(name: str, filter: str) -> object:
        if name == store.documents:
            raise Crash
        return delete(name, filter=filter)

    monkeypatch.setattr(store.client, "delete", delete_but_records)
    with pytest.raises(Crash):
        store.sync(log=lambda _m: None)
    monkeypatch.undo()
    assert victim in store.records()
    again = MilvusSync(store.client, smaller, settings, store.prefix)
    written, deleted = again.sync(log=lambda _m: None)
    assert victim in deleted and victim not in written
    _whole(again, smaller)
    assert again.sync(log=lambda _m: None) == ([], [])


SYNC = """
import json, sys, time
from pathlib import Path
from ragbot.index.reader import load_index
from ragbot.index.search.milvus_client import connect_client
from ragbot.index.search.milvus_sync import MilvusSync
from ragbot.settings import Settings

index_dir, uri, ready, go = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
settings = Settings(index_dir=Path(index_dir), vector_store="milvus", milvus_uri=uri)
store = MilvusSync(connect_client(settings), load_index(settings.index_dir), settings)
ready.touch()
while not go.exists():
    time.sleep(0.005)
print(json.dumps(store.checked_sync(log=lambda _m: None)))
"""


def quiet(_message: str) -> None:
    """A log that says nothing."""


def test_two_replicas_syncing_one_changed_index_at_once_write_each_brief_once(embedder, milvus_uri, tmp_path):
    """Two processes start on a library with a new brief at the same moment: one writes it, the other waits, looks again, writes none."""
    from ragbot.index.search.milvus_client import connect_client
    from ragbot.index.search.milvus_store import MilvusStore
    from ragbot.index.search.milvus_sync import MilvusSync

    corpus = copy_small_corpus(tmp_path / "corpus")
    new = sorted(corpus.glob("*.txt"))[-1]
    new.rename(tmp_path / new.name)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", vector_store="milvus", milvus_uri=new_database(milvus_uri))
    MilvusStore.connect(build_index(settings, embedder, progress=False, log=quiet)[0], settings, log=quiet)  # in step with one brief
    (tmp_path / new.name).rename(new)
    index, _ = build_index(settings, embedder, progress=False, log=quiet)  # the new brief's rows appended
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    go, ready = tmp_path / "go", [tmp_path / "ready-a", tmp_path / "ready-b"]
    command = [sys.executable, "-c", SYNC, str(settings.index_dir), settings.milvus_uri]
    procs = [
        subprocess.Popen([*command, str(r), str(go)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in ready
    ]
    try:
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready):
            assert all(p.poll() is None for p in procs) and time.monotonic() < deadline, [p.communicate() for p in procs]
            time.sleep(0.05)
        go.touch()  # both connected and loaded: they sync at the same moment
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), outs
    written = [json.loads(out)[0] for out, _ in outs]
    assert sorted(written) == [[], [new.name]], written  # one wrote the brief; the other waited, looked again and found it current
    store = MilvusSync(connect_client(settings), index, settings)
    # No brief's rows twice (a Milvus server counts a primary key inserted twice twice; Milvus Lite keeps one, so
    # here the written lists above are what tell the lock held: without it both processes write the brief).
    for doc_id, rows in index.document_rows.items():
        start = index.sentence_start
        for name, want in ((store.passages, len(rows)), (store.sentences_, int(start[rows.stop] - start[rows.start]))):
            got = store.client.query(name, filter=f"doc_id == {json.dumps(doc_id)}", output_fields=["count(*)"])
            assert got[0]["count(*)"] == want, (doc_id, name)
    _whole(store, index)
    with build_lock(settings.index_dir):  # in step: the sync reads the records and takes no lock (else it would wait here)
        result: list[tuple[list[str], list[str]]] = []
        sync = threading.Thread(target=lambda: result.append(store.sync(log=quiet)), daemon=True)
        sync.start()
        sync.join(timeout=120)  # how fast it is, is bench's; here only that it ends while the lock is held
        assert not sync.is_alive() and result == [([], [])], "an in-step sync waited for the build lock"


def test_a_sync_behind_a_newer_build_leaves_the_writing_to_its_loader(pipeline, milvus_uri):
    """A process still holding an older build (the folder switched while it waited for the lock) writes nothing into Milvus."""
    from ragbot.index.search.milvus_client import connect_client
    from ragbot.index.search.milvus_sync import MilvusSync

    older = dataclasses.replace(pipeline.index, manifest={**pipeline.index.manifest, "build": "an-older-build"})
    settings = pipeline.settings.model_copy(update={"vector_store": "milvus", "milvus_uri": milvus_uri})
    said: list[str] = []
    store = MilvusSync(connect_client(settings), older, settings, f"t{uuid.uuid4().hex[:8]}")
    assert store.sync(log=said.append) == ([], []) and store.held() == (0, 0, 0)
    assert said == ["milvus: the index folder holds a newer build than this one; writing is left to its loader"]


def test_collections_from_before_the_documents_records_are_rewritten(pipeline, milvus_uri):
    """An earlier ragbot wrote passages and sentences but no documents records: every brief is written again, once."""
    from ragbot.index.search.milvus_sync import MilvusSync

    index, settings = pipeline.index, pipeline.settings
    old = _milvus(index, settings, milvus_uri)
    old.client.drop_collection(old.documents)
    said: list[str] = []
    store = MilvusSync(old.client, index, settings, old.prefix)
    written, _ = store.sync(log=said.append)
    assert written == sorted(d for d, r in index.document_rows.items() if len(r))
    assert said[0] == "milvus: collections written by an earlier ragbot (no documents records): every document is written again"
    _whole(store, index)


def test_an_unreachable_milvus_is_one_clear_line(pipeline):
    from ragbot.index.search.milvus_store import MilvusStore

    settings = pipeline.settings.model_copy(update={"vector_store": "milvus", "milvus_uri": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(RagbotError) as err:
        MilvusStore.connect(pipeline.index, settings)
    assert str(err.value).startswith("cannot reach Milvus at http://127.0.0.1:") and "\n" not in str(err.value)
    bad_path = pipeline.settings.model_copy(update={"vector_store": "milvus", "milvus_uri": "/tmp/milvus.txt"})
    with pytest.raises(RagbotError, match=r"must be http://host:port or a Milvus Lite path ending in \.db"):
        MilvusStore.connect(pipeline.index, bad_path)


def test_refused_credentials_are_one_clear_line(pipeline, monkeypatch):
    """Milvus Lite checks no token, so the refusal a Milvus server with authentication sends is played here."""
    from pymilvus import MilvusException

    from ragbot.index.search import milvus_client, milvus_store

    def refuse(**_kw: object) -> None:
        raise MilvusException(code=1800, message="auth check failure, please check username/password are correct\n")

    monkeypatch.setattr(milvus_client, "MilvusClient", refuse)
    settings = pipeline.settings.model_copy(update={"vector_store": "milvus", "milvus_uri": "http://root:s3cret@127.0.0.1:19530"})
    with pytest.raises(RagbotError) as err:
        milvus_store.MilvusStore.connect(pipeline.index, settings)
    line = str(err.value)
    assert line.startswith("Milvus at http://root:***@127.0.0.1:19530 refused the credentials") and "s3cret" not in line
    assert "RAGBOT_MILVUS_TOKEN" in line and "\n" not in line


@pytest.mark.parametrize("where", ["server", "lite path"])
def test_ragbot_index_and_ask_on_milvus(where, milvus_uri, tmp_path_factory):
    """`RAGBOT_VECTOR_STORE=milvus ragbot index` then `... ragbot ask` as today; a server that is down is one line."""
    from tests.conftest import copy_small_corpus
    from tests.test_cli import QUESTION, assert_one_line_error, ragbot

    root = tmp_path_factory.mktemp("milvus-cli")
    copy_small_corpus(root / "corpus")
    env = {"RAGBOT_VECTOR_STORE": "milvus", "RAGBOT_MILVUS_URI": milvus_uri if where == "server" else ""}
    built = ragbot("index", cwd=root, env=env)
    assert built.returncode == 0 and "milvus: 2 documents written" in built.stderr, built.stderr
    again = ragbot("index", cwd=root, env=env)
    assert again.returncode == 0 and "up to date" in again.stderr and "milvus:" not in again.stderr, again.stderr
    asked = ragbot("ask", "--json", QUESTION, cwd=root, env=env)
    assert asked.returncode == 0, asked.stderr
    assert "90 per cent" in json.loads(asked.stdout)["answer"]
    down = {**env, "RAGBOT_MILVUS_URI": f"http://127.0.0.1:{free_port()}"}
    assert_one_line_error(ragbot("ask", QUESTION, cwd=root, env=down), "cannot reach Milvus at http://127.0.0.1:")
