from __future__ import annotations

import itertools
import re

from ragbot.chunking import chunk_document, split_sentences
from ragbot.corpus.folder import load_corpus
from ragbot.models.tokens import count_tokens
from ragbot.settings import Settings

from .conftest import CORPUS


def _alnum(s: str) -> str:
    return re.sub(r"[\W_]", "", s)


def _is_subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(ch in it for ch in needle)


def test_passages_fit_the_token_budget_and_the_embedder(index, embedder, settings):
    assert len(index.passages) > 50
    assert max(p.n_tokens for p in index.passages) <= settings.chunk_tokens
    assert all(p.n_tokens == count_tokens(p.text) for p in index.passages)
    lengths = embedder.wordpiece_lengths([p.embedding_text(settings.embed_title) for p in index.passages])
    assert max(lengths) <= embedder.max_length, "the embedder would silently cut a passage"


def test_offsets_slice_the_source_file_to_the_passage(index):
    raw = {d.doc_id: d.raw for d in load_corpus(CORPUS)}
    for p in index.passages:
        source = raw[p.doc_id][p.start : p.end]
        assert _alnum(source)[:1] == _alnum(p.text)[:1], p.passage_id  # starts where the text starts
        assert _is_subsequence(_alnum(p.text), _alnum(source)), p.passage_id
        assert _alnum(source).endswith(_alnum(p.text)[-4:]), p.passage_id


def test_passages_carry_sections_and_sentence_spans(index):
    sections = {p.section for p in index.passages if p.doc_id.startswith("2024-11")}
    assert "Guaranteeing Consistency and Continuity of ASEAN-Korea Cooperation" in sections
    for p in index.passages:
        assert p.sentences and all(0 <= s < e <= len(p.text) for s, e in p.sentences)


def test_ids_are_stable_and_unique():
    docs = load_corpus(CORPUS)
    s = Settings()
    first = [p.passage_id for d in docs for p in chunk_document(d, count_tokens, s.chunk_tokens, s.chunk_overlap)]
    again = [p.passage_id for d in load_corpus(CORPUS) for p in chunk_document(d, count_tokens, s.chunk_tokens, s.chunk_overlap)]
    assert first == again
    assert len(set(first)) == len(first)


def test_size_and_overlap_are_configurable():
    doc = load_corpus(CORPUS, only={"2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt"})[0]
    small = chunk_document(doc, count_tokens, 64, 0)
    large = chunk_document(doc, count_tokens, 180, 0)
    assert len(small) > len(large)
    assert max(p.n_tokens for p in small) <= 64
    overlapping = chunk_document(doc, count_tokens, 64, 24)
    shared = sum(1 for a, b in itertools.pairwise(overlapping) if a.section == b.section and b.start < a.end)
    assert shared > 0, "consecutive passages within a paragraph share sentences"


def test_sentence_splitter_keeps_abbreviations():
    text = "The U.S. and Dr. Lee met in Jan. 2024. They agreed. Then e.g. trade grew 12-fold."
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == ["The U.S. and Dr. Lee met in Jan. 2024.", "They agreed.", "Then e.g. trade grew 12-fold."]
