"""How long a start takes to check that Milvus is current with the index (MilvusSync.sync with nothing to write).

    .venv/bin/python bench/milvus_sync.py --index index --copies 20 --db /tmp/sync.db [--runs 3]

The index is copied ``--copies`` times under new document names (the same passages, vectors and
sentences), written once into a Milvus Lite database, then checked again ``--runs`` times by a new
client each, as each start of ragbot does. Prints one JSON line: passages, sentences, briefs, the
time of the first write and each check. Run it on two commits to compare them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np

from ragbot.index.reader import Index, load_index
from ragbot.index.search.milvus_client import connect_client
from ragbot.index.search.milvus_sync import MilvusSync
from ragbot.settings import Settings


def copies(index: Index, k: int, settings: Settings) -> Index:
    """The index's passages k times over, each copy's documents renamed c0000-..., c0001-..."""
    passages, rows = [], []
    for c in range(k):
        for i, p in enumerate(index.passages):
            doc = f"c{c:04d}-{p.doc_id}"
            passages.append(dataclasses.replace(p, doc_id=doc, passage_id=f"{doc}#{p.passage_id.rsplit('#', 1)[-1]}"))
            rows.append(i)
    vectors = index.passage_vectors()[rows]
    sentences = np.vstack([index.sentences_of(i) for i in rows])
    return Index.from_arrays({}, passages, vectors, sentences, settings)


def main() -> None:
    """Write the copied index into Milvus Lite once, then time the start-up check."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--db", required=True, help="a Milvus Lite .db path (a new one: the first write is timed too)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    settings = Settings(index_dir=args.index, vector_store="milvus", milvus_uri=args.db)
    index = copies(load_index(args.index), args.copies, settings)
    quiet = lambda _m: None  # noqa: E731
    start = time.perf_counter()
    MilvusSync(connect_client(settings), index, settings).sync(quiet)
    write = time.perf_counter() - start
    checks = []
    for _ in range(args.runs):
        store = MilvusSync(connect_client(settings), index, settings)
        start = time.perf_counter()
        written, stale = store.sync(quiet)
        checks.append(time.perf_counter() - start)
        assert not written and not stale, (written, stale)
    briefs = sum(1 for r in index.document_rows.values() if len(r))
    print(json.dumps({"passages": len(index.passages), "sentences": len(index.sentence_vectors), "briefs": briefs,
                      "first_write_s": round(write, 2), "check_s": [round(c, 3) for c in checks],
                      "check_median_s": round(statistics.median(checks), 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
