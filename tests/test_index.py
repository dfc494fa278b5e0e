from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from ragbot.errors import RagbotError
from ragbot.index.reader import MANIFEST, VERIFIED, load_index
from ragbot.index.writer import build_index
from ragbot.settings import Settings

FULCRUM = "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"
CSP = "2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt"


def _quiet(_msg: str) -> None:
    pass


def test_index_round_trips(index, settings):
    loaded = load_index(settings.index_dir)
    assert [p.passage_id for p in loaded.passages] == [p.passage_id for p in index.passages]
    assert loaded.passages == index.passages
    np.testing.assert_allclose(loaded.passage_vectors(), index.passage_vectors())
    assert loaded.sentence_vectors.shape == (sum(len(p.sentences) for p in loaded.passages), 384)
    m = loaded.manifest
    assert m["embedding"] == {"model": "all-MiniLM-L6-v2", "dim": 384, "max_tokens": 256}
    assert m["chunking"] == settings.chunking()
    assert set(m["documents"]) == {p.name for p in settings.corpus_dir.glob("*.txt")}
    assert all(len(d["sha256"]) == 64 for d in m["documents"].values())
    assert not any(f.suffix == ".pkl" for f in settings.index_dir.iterdir())


def test_only_changed_files_are_re_embedded(small_corpus: Path, tmp_path: Path, embedder):
    s = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    first, changes = build_index(s, embedder, progress=False, log=_quiet)
    assert changes.full_rebuild == "no index yet"
    before = {p.passage_id: v for p, v in zip(first.passages, first.passage_vectors(), strict=True)}

    with (small_corpus / FULCRUM).open("a", encoding="utf-8") as f:
        f.write("\nA new closing paragraph about joint coast guard training in 2026.\n")
    logs: list[str] = []
    count = embedder.texts_encoded
    second, changes = build_index(s, embedder, progress=False, log=logs.append)
    assert changes.modified == [FULCRUM] and changes.unchanged == [CSP] and not changes.full_rebuild
    assert any(FULCRUM in line for line in logs), "the CLI says which file changed"
    fulcrum = [p for p in second.passages if p.doc_id == FULCRUM]
    n_sentences = len({s for p in fulcrum for s in p.sentence_texts()})
    assert embedder.texts_encoded - count == len(fulcrum) + n_sentences, "only the changed file is embedded"
    after = {p.passage_id: v for p, v in zip(second.passages, second.passage_vectors(), strict=True)}
    for pid, vec in after.items():
        if pid.startswith(CSP):
            np.testing.assert_array_equal(vec, before[pid])
    assert any("coast guard" in p.text for p in fulcrum)

    (small_corpus / CSP).unlink()
    third, changes = build_index(s, embedder, progress=False, log=_quiet)
    assert changes.removed == [CSP]
    assert {p.doc_id for p in third.passages} == {FULCRUM}
    assert load_index(s.index_dir).passages == third.passages


@pytest.mark.parametrize("ann_from", [1, 10**6])
def test_adding_a_brief_extends_the_index_and_embeds_only_the_new_brief(small_corpus: Path, tmp_path: Path, embedder, ann_from: int):
    """Old rows keep their place, passages and vectors; the new brief's rows follow; the exact or HNSW index is extended."""
    from ragbot.index.dense import DenseSearch, kind

    s = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index", ann_from=ann_from)
    (small_corpus / CSP).rename(tmp_path / CSP)
    first, _ = build_index(s, embedder, progress=False, log=_quiet)
    old_vectors, old_sentences = first.passage_vectors(), np.array(first.sentence_vectors)
    old_ids = [p.passage_id for p in first.passages]
    (tmp_path / CSP).rename(small_corpus / CSP)  # sorts before FULCRUM: appended all the same
    count = embedder.texts_encoded
    second, changes = build_index(s, embedder, progress=False, log=_quiet)
    assert changes.added == [CSP] and changes.unchanged == [FULCRUM]
    new = [p for p in second.passages if p.doc_id == CSP]
    assert embedder.texts_encoded - count == len(new) + len({t for p in new for t in p.sentence_texts()}), "only the new brief"
    assert [p.passage_id for p in second.passages[: len(old_ids)]] == old_ids
    np.testing.assert_array_equal(second.passage_vectors()[: len(old_ids)], old_vectors)
    np.testing.assert_array_equal(second.sentence_vectors[: len(old_sentences)], old_sentences)
    assert second.documents[CSP]["rows"] == [len(old_ids), len(old_ids) + len(new)]
    assert [kind(part) for part in second.vectors.parts] == ["hnsw" if ann_from == 1 else "flat"]  # a small library: one segment
    loaded = load_index(s.index_dir)
    assert loaded.passages == second.passages and loaded.document_rows[CSP] == range(len(old_ids), len(second.passages))
    for i in (0, len(old_ids), len(second.passages) - 1):  # each row's sentence vectors still belong to its passage
        np.testing.assert_array_equal(loaded.sentences_of(i), second.sentences_of(i))
        assert len(loaded.sentences_of(i)) == len(loaded.passages[i].sentences)
    rows, _ = DenseSearch(loaded.vectors).run(loaded.passage_vectors()[len(old_ids)], 1)
    assert rows[0] == len(old_ids), "the new vectors are searchable"
    assert loaded.row_of(new[0].passage_id) == len(old_ids) and loaded.keyword.n == len(second.passages)


def test_changed_settings_rebuild_everything(small_corpus: Path, tmp_path: Path, embedder):
    s = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    build_index(s, embedder, progress=False, log=_quiet)
    smaller = s.model_copy(update={"chunk_tokens": 96, "chunk_overlap": 16})
    rebuilt, changes = build_index(Settings(**smaller.model_dump()), embedder, progress=False, log=_quiet)
    assert changes.full_rebuild and "chunk_tokens 160 -> 96" in changes.full_rebuild
    assert max(p.n_tokens for p in rebuilt.passages) <= 96


def test_a_crash_mid_build_leaves_the_previous_index(small_corpus: Path, tmp_path: Path, embedder, monkeypatch):
    s = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    good, _ = build_index(s, embedder, progress=False, log=_quiet)
    manifest_before = (s.index_dir / MANIFEST).read_bytes()
    (small_corpus / FULCRUM).write_text("Entirely new text about something else.\n", encoding="utf-8")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(OSError):
        build_index(s, embedder, progress=False, log=_quiet)
    monkeypatch.undo()
    assert (s.index_dir / MANIFEST).read_bytes() == manifest_before
    assert load_index(s.index_dir).passages == good.passages
    # the next build finishes and clears the crashed build's leftovers
    build_index(s, embedder, progress=False, log=_quiet)
    names = {p.name for p in s.index_dir.iterdir()}
    manifest = json.loads((s.index_dir / MANIFEST).read_text())
    assert names - {MANIFEST, ".lock", VERIFIED} == {a["file"].split("/")[0] for a in manifest["artifacts"].values()}


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupted_artifacts_are_detected(small_corpus: Path, tmp_path: Path, embedder, damage):
    s = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    build_index(s, embedder, progress=False, log=_quiet)
    manifest = json.loads((s.index_dir / MANIFEST).read_text())
    target = s.index_dir / next(a["file"] for kind, a in manifest["artifacts"].items() if kind.endswith("/vectors"))
    data = bytearray(target.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(RagbotError, match=r"corrupted.*ragbot index --rebuild"):
        load_index(s.index_dir)
    rebuilt, changes = build_index(s, embedder, rebuild=True, progress=False, log=_quiet)
    assert changes.full_rebuild and load_index(s.index_dir).passages == rebuilt.passages


def test_missing_and_garbled_manifest(tmp_path: Path):
    with pytest.raises(RagbotError, match="no index"):
        load_index(tmp_path)
    (tmp_path / MANIFEST).write_text('{"format_version": 1, "artif')
    with pytest.raises(RagbotError, match=r"manifest .* is corrupted"):
        load_index(tmp_path)


def test_an_index_from_another_format_is_rebuilt_not_refused(small_corpus: Path, tmp_path: Path, embedder):
    s = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    build_index(s, embedder, progress=False, log=_quiet)
    manifest_path = s.index_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 0
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(RagbotError, match="has format 0"):
        load_index(s.index_dir)
    rebuilt, changes = build_index(s, embedder, progress=False, log=_quiet)
    assert changes.full_rebuild == "index format changed"
    assert load_index(s.index_dir).passages == rebuilt.passages


def test_a_build_waits_for_another_writer_when_asked_to(small_corpus: Path, tmp_path: Path, embedder):
    """A page's refresh waits for a replica's Milvus sync or build; `ragbot index` (wait 0) says at once that one is running."""
    import threading

    from ragbot.index.lock import build_lock

    s = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    build_index(s, embedder, progress=False, log=_quiet)
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with build_lock(s.index_dir):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(10)
    with pytest.raises(RagbotError, match="another ragbot is writing the index"):
        build_index(s, embedder, progress=False, log=_quiet)
    threading.Timer(1.0, release.set).start()
    index, changes = build_index(s, embedder, progress=False, log=_quiet, wait=30)
    thread.join()
    assert not changes.stale and len(index.passages)
