"""The time to add one brief to a built library: `bench/add_brief.py INDEX_DIR [--brief corpus/FILE] [--times N]`.

Adds a shipped brief to the library in INDEX_DIR (e.g. one kept from bench/scale.py --out) the way
`ragbot index` adds a new file: chunk and embed only the brief, then write the new build (a segment
of the brief's passages, merged with small segments as the merge plan says; the library's other
segments are kept as they are; checksums of the new files, manifest switch). ``--times N`` adds it
N times under new names, one build each, and prints the median and range. Prints the seconds of
each step; the library is changed in place.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ragbot.chunking import chunk_document
from ragbot.corpus.folder import corpus_state, load_corpus
from ragbot.index.reader import load_index
from ragbot.index.writer import update_index
from ragbot.models.embedder import embedder_for
from ragbot.models.tokens import count_tokens
from ragbot.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--brief", type=Path, default=Path("corpus/2025-07_fulcrum_asean-rok-security-dual-contingency.txt"))
    parser.add_argument("--times", type=int, default=1, help="add the brief this many times, under new names")
    args = parser.parse_args()
    settings = Settings.load(index_dir=args.index_dir)
    embedder = embedder_for(settings)
    writes = []
    with tempfile.TemporaryDirectory() as folder:
        for k in range(args.times):
            start = time.perf_counter()
            old = load_index(args.index_dir)
            loaded = time.perf_counter() - start
            brief = Path(folder) / f"added-{len(old.passages)}-{k}-{args.brief.name}"
            shutil.copyfile(args.brief, brief)
            start = time.perf_counter()
            (doc,) = load_corpus(brief.parent, only={brief.name})
            passages = chunk_document(doc, count_tokens, settings.chunk_tokens, settings.chunk_overlap)
            vectors = embedder.encode([p.embedding_text(settings.embed_title) for p in passages])
            sentence_vectors = embedder.encode([s for p in passages for s in p.sentence_texts()])
            embedded = time.perf_counter() - start
            start = time.perf_counter()
            info = {doc_id: {k: v for k, v in d.items() if k not in ("rows", "n_passages")} for doc_id, d in old.documents.items()}
            info[doc.doc_id] = doc.metadata() | corpus_state(brief.parent)[doc.doc_id]
            index = update_index(settings, embedder, old, set(), passages, vectors, sentence_vectors, info)
            writes.append(time.perf_counter() - start)
            sizes = [s["rows"][1] - s["rows"][0] for s in index.manifest["segments"]]
            print(
                f"{len(old.passages)} passages + {len(passages)}: load {loaded:.2f} s, chunk and embed the brief {embedded:.2f} s, "
                f"write the build {writes[-1]:.2f} s; segments now {sizes}",
                flush=True,
            )
    if len(writes) > 1:
        median, low, high = statistics.median(writes), min(writes), max(writes)
        print(f"write the build: median {median:.2f} s (range {low:.2f}-{high:.2f}) over {len(writes)} adds")


if __name__ == "__main__":
    main()
