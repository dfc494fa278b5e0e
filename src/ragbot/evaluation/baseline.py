"""The tutorial recipe users start from, as a baseline: 1000/200-character chunks, dense retrieval, top 4."""

from __future__ import annotations

from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ragbot.chunking import Passage, split_sentences
from ragbot.corpus import load_corpus
from ragbot.index import Index
from ragbot.models import Embedder, count_tokens
from ragbot.settings import Settings

NAIVE_SETTINGS: dict[str, Any] = {"retriever": "dense", "answer_passages": 4, "embed_title": False}


def naive_index(settings: Settings, embedder: Embedder) -> Index:
    """Raw file text split by RecursiveCharacterTextSplitter(1000, 200); chunks embedded as they are."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    passages = []
    documents = {}
    for doc in load_corpus(settings.corpus_dir):
        documents[doc.doc_id] = doc.metadata()
        for n, chunk in enumerate(splitter.create_documents([doc.raw])):
            start = int(chunk.metadata["start_index"])
            text = chunk.page_content
            spans = tuple(split_sentences(text)) or ((0, len(text)),)
            passages.append(
                Passage(
                    f"{doc.doc_id}#naive-{n:03d}", doc.doc_id, doc.title, None, start, start + len(text), count_tokens(text), text, spans
                )
            )
    vectors = embedder.encode([p.text for p in passages])  # MiniLM cuts each chunk at 256 word pieces, as in the tutorial
    sentence_vectors = embedder.encode([s for p in passages for s in p.sentence_texts()])
    manifest = {"baseline": "naive", "documents": documents, "counts": {"passages": len(passages)}}
    return Index.from_arrays(manifest, passages, vectors, sentence_vectors)
