from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ragbot.index import segment as segment_module
from ragbot.index.dense import DenseSearch
from ragbot.index.reader import MANIFEST, load_index
from ragbot.index.segment import MAX_SEGMENTS, MIN_SEGMENT, merge_plan
from ragbot.index.writer import build_index
from ragbot.settings import Settings
from tests.conftest import CORPUS

FULCRUM = "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"
CSP = "2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt"
QUESTIONS = ("Malacca Strait energy supplies", "Comprehensive Strategic Partnership summit", "defence cooperation Korea ASEAN")


def _quiet(_msg: str) -> None:
    pass


def test_the_merge_plan_keeps_a_large_segment_and_merges_small_ones_like_a_binary_counter():
    assert merge_plan([100_000, 12]) == [[0], [1]]  # one brief added to a large library: written alone
    assert merge_plan([100_000, 12, 12]) == [[0], [1, 2]]  # two small ones of a size: merged
    assert merge_plan([100_000, 30_000, 12]) == [[0], [1], [2]]
    assert merge_plan([100_000, 10_000, 3_000]) == [[0], [1, 2]]
    assert merge_plan([100_000, 50_000, 40_000]) == [[0, 1, 2]]  # the tail grew to the base's size: all merged
    assert merge_plan([MIN_SEGMENT - 1, 100_000]) == [[0, 1]]  # a small library stays one segment
    assert merge_plan([]) == [] and merge_plan([5]) == [[0]]
    many = [MIN_SEGMENT * 5**i for i in reversed(range(MAX_SEGMENTS + 3))]  # each 5x smaller: no tail merge, too many segments
    assert len(merge_plan(many)) == MAX_SEGMENTS and sum(map(len, merge_plan(many))) == len(many)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name.split("-")[0] in ("passages", "vectors", "sentences", "bm25")}


def test_adding_a_brief_writes_one_segment_and_leaves_the_library_s_files_untouched(tmp_path: Path, embedder, monkeypatch):
    monkeypatch.setattr(segment_module, "MIN_SEGMENT", 0)  # the two briefs stand in for a large library and a new brief
    monkeypatch.setattr(segment_module, "MERGE_RATIO", 0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / FULCRUM, corpus / FULCRUM)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first, _ = build_index(s, embedder, progress=False, log=_quiet)
    before = _files(s.index_dir)

    shutil.copy(CORPUS / CSP, corpus / CSP)
    second, changes = build_index(s, embedder, progress=False, log=_quiet)
    assert changes.added == [CSP]
    after = _files(s.index_dir)
    assert {k: after[k] for k in before} == before, "the first segment's files are neither rewritten nor copied"
    manifest = json.loads((s.index_dir / MANIFEST).read_text())
    old, new = manifest["segments"]
    assert old["id"] == first.manifest["segments"][0]["id"] and old["rows"] == [0, len(first.passages)]
    assert set(after) - set(before) == {a["file"] for k, a in manifest["artifacts"].items() if k.startswith(new["id"] + "/")}
    assert second.documents[CSP]["rows"] == new["rows"] == [len(first.passages), len(second.passages)]

    # the two segments read as one library: the same as the two briefs built at once (one segment)
    rebuilt, _ = build_index(s.model_copy(update={"index_dir": tmp_path / "whole"}), embedder, progress=False, log=_quiet)
    one = rebuilt
    assert len(one.manifest["segments"]) == 1
    loaded = load_index(s.index_dir)
    assert sorted(p.passage_id for p in loaded.passages) == sorted(p.passage_id for p in one.passages)
    order = [one.row_of(p.passage_id) for p in loaded.passages]
    for q in QUESTIONS:  # BM25 takes the whole library's statistics, whichever segment a passage is in
        np.testing.assert_allclose(loaded.keyword.scores(q), one.keyword.scores(q)[order], rtol=1e-6)
    query = loaded.passage_vectors()[len(first.passages) + 1]
    rows, sims = DenseSearch(loaded.vectors).run(query, 5)
    assert rows[0] == len(first.passages) + 1 and np.all(np.diff(sims) <= 0), "both segments searched, results merged best first"
    np.testing.assert_allclose(sims, loaded.passage_vectors()[rows] @ query, rtol=1e-5)
    for i in (0, len(first.passages), len(loaded.passages) - 1):  # sentence vectors and terms found across segments
        assert len(loaded.sentences_of(i)) == len(loaded.passages[i].sentences)
        j = one.row_of(loaded.passages[i].passage_id)
        np.testing.assert_array_equal(loaded.sentences_of(i), one.sentences_of(j))

    # a brief removed from the first segment rewrites that segment only
    (corpus / FULCRUM).unlink()
    third, _ = build_index(s, embedder, progress=False, log=_quiet)
    assert [seg["id"] for seg in third.manifest["segments"]] == [new["id"]]
    assert {p.doc_id for p in third.passages} == {CSP} and third.document_rows[CSP] == range(len(third.passages))


def test_small_segments_are_merged_into_one_without_embedding_again(tmp_path: Path, embedder, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / FULCRUM, corpus / FULCRUM)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", ann_from=1)  # HNSW: the graph is extended, not rebuilt
    first, _ = build_index(s, embedder, progress=False, log=_quiet)
    shutil.copy(CORPUS / CSP, corpus / CSP)
    count = embedder.texts_encoded
    merged, _ = build_index(s, embedder, progress=False, log=_quiet)
    new = [p for p in merged.passages if p.doc_id == CSP]
    assert embedder.texts_encoded - count == len(new) + len({t for p in new for t in p.sentence_texts()}), "only the new brief"
    assert len(merged.manifest["segments"]) == 1 and merged.manifest["segments"][0]["dense"] == "hnsw"
    np.testing.assert_array_equal(merged.passage_vectors()[: len(first.passages)], first.passage_vectors())
    rebuilt, _ = build_index(s, embedder, rebuild=True, progress=False, log=_quiet)
    assert sorted(p.passage_id for p in rebuilt.passages) == sorted(p.passage_id for p in merged.passages)
    order = [rebuilt.row_of(p.passage_id) for p in merged.passages]
    for q in QUESTIONS:
        np.testing.assert_allclose(merged.keyword.scores(q), rebuilt.keyword.scores(q)[order], rtol=1e-6)
    for i, j in enumerate(order):
        assert merged.passage_terms.ids[merged.passage_terms.start[i] : merged.passage_terms.start[i + 1]].tolist() == (
            rebuilt.passage_terms.ids[rebuilt.passage_terms.start[j] : rebuilt.passage_terms.start[j + 1]].tolist()
        )


@pytest.mark.parametrize("segments", [1, 3])
def test_a_damaged_segment_file_is_one_clear_error(tmp_path: Path, embedder, monkeypatch, segments: int):
    from ragbot.errors import RagbotError

    monkeypatch.setattr(segment_module, "MIN_SEGMENT", 0)
    monkeypatch.setattr(segment_module, "MERGE_RATIO", 0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = sorted(p.name for p in CORPUS.glob("*.txt"))[:segments]
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    for name in names:
        shutil.copy(CORPUS / name, corpus / name)
        build_index(s, embedder, progress=False, log=_quiet)
    manifest = json.loads((s.index_dir / MANIFEST).read_text())
    assert len(manifest["segments"]) == segments
    target = s.index_dir / manifest["artifacts"][f"{manifest['segments'][-1]['id']}/bm25_counts"]["file"]
    target.write_bytes(target.read_bytes()[:-2])
    with pytest.raises(RagbotError, match=r"corrupted.*ragbot index --rebuild"):
        load_index(s.index_dir)


def test_milvus_holds_a_library_of_several_segments_as_the_local_index_reads_it(tmp_path: Path, embedder, monkeypatch, milvus_uri):
    """Rows are numbered across segments in Milvus too: the same candidates, vectors, sentences and term coverage."""
    from ragbot.index.search.faiss_store import FaissStore
    from ragbot.index.search.milvus_store import MilvusStore
    from ragbot.index.term_sets import QueryTerms
    from tests.index.conftest import new_database

    monkeypatch.setattr(segment_module, "MIN_SEGMENT", 0)
    monkeypatch.setattr(segment_module, "MERGE_RATIO", 0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    for name in (FULCRUM, CSP):
        shutil.copy(CORPUS / name, corpus / name)
        index, _ = build_index(s, embedder, progress=False, log=_quiet)
    assert len(index.manifest["segments"]) == 2
    milvus = MilvusStore.connect(index, s.model_copy(update={"vector_store": "milvus", "milvus_uri": new_database(milvus_uri)}), log=_quiet)
    local = FaissStore(index, s)
    assert milvus.held() == (2, len(index.passages), len(index.sentence_vectors))
    last = len(index.passages) - 1
    rows = np.array([last, 0, index.documents[CSP]["rows"][0], 3], dtype=np.int64)  # both segments, out of order
    terms = QueryTerms.of({"korea": 0.5, "partnership": 0.3, "malacca": 0.2})
    got, want = milvus.candidates(rows, terms), local.candidates(rows, terms)
    np.testing.assert_allclose(got.vectors, want.vectors, atol=1e-6)
    np.testing.assert_array_equal(got.sentences.counts, want.sentences.counts)
    np.testing.assert_allclose(got.sentences.vectors, want.sentences.vectors, atol=1e-6)
    np.testing.assert_array_equal(got.sentences.cover, want.sentences.cover)
    np.testing.assert_array_equal(got.sentences.passage_cover, want.sentences.passage_cover)
    query = index.passage_vectors()[last]
    assert milvus.dense(query, 5, None)[0].tolist() == local.dense(query, 5, None)[0].tolist()
