"""The time to add one brief to a built library: `bench/add_brief.py INDEX_DIR [--brief corpus/FILE]`.

Adds a shipped brief to the library in INDEX_DIR (e.g. one kept from bench/scale.py --out) the way
`ragbot index` appends a new file: chunk and embed only the brief, then extend the index
(passages and sentence vectors copied and extended, the FAISS index extended, BM25 rebuilt,
checksums, manifest switch). Prints the seconds of each step; the library is changed in place.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ragbot.chunking import chunk_document
from ragbot.corpus import corpus_state, load_corpus
from ragbot.index import append_index, load_index
from ragbot.models import count_tokens, embedder_for
from ragbot.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--brief", type=Path, default=Path("corpus/2025-07_fulcrum_asean-rok-security-dual-contingency.txt"))
    args = parser.parse_args()
    settings = Settings.load(index_dir=args.index_dir)
    embedder = embedder_for(settings)
    start = time.perf_counter()
    old = load_index(args.index_dir)
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    (doc,) = load_corpus(args.brief.parent, only={args.brief.name})
    passages = chunk_document(doc, count_tokens, settings.chunk_tokens, settings.chunk_overlap)
    vectors = embedder.encode([p.embedding_text(settings.embed_title) for p in passages])
    sentence_vectors = embedder.encode([s for p in passages for s in p.sentence_texts()])
    embedded = time.perf_counter() - start
    start = time.perf_counter()
    info = {doc_id: {k: v for k, v in d.items() if k not in ("rows", "n_passages")} for doc_id, d in old.documents.items()}
    info[doc.doc_id] = doc.metadata() | corpus_state(args.brief.parent)[doc.doc_id]
    index = append_index(args.index_dir, settings, embedder, old, passages, vectors, sentence_vectors, info)
    appended = time.perf_counter() - start
    print(
        f"{len(old.passages)} passages + {len(passages)}: load {loaded:.1f} s, chunk and embed the brief {embedded:.1f} s, "
        f"extend the index {appended:.1f} s; now {len(index.passages)} passages"
    )


if __name__ == "__main__":
    main()
