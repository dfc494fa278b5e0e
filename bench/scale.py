"""How ragbot holds a large library on this machine: a synthetic library of N passages, built, loaded and searched.

    .venv/bin/python bench/scale.py 10000 100000 1000000 [--embed 10000] [--queries 100] [--out DIR]
    .venv/bin/python bench/scale.py --throughput 1000        # ONNX Runtime (float32, int8) against sentence-transformers

Each synthetic passage is 3-8 sentences drawn at random from the shipped briefs' own sentences
(no downloads), in synthetic documents of 50 passages. The first ``--embed`` passages are embedded
for real by the indexing embedder; past that, a passage's vector is a perturbed copy of a real one
(noise of norm 0.75, renormalised: cosine ~0.8 to its source), which is what makes 10^6 passages
buildable here; the figures say how many were embedded. Sentence vectors are real (every sentence
is a real one, embedded once). The index is written by ragbot's own writer, so it holds everything
a real one does (JSONL passages, FAISS flat or HNSW by size, sentence vectors, bm25s).

For each N, a fresh process loads the index and asks the eval questions (instant engine), printing:
load time, RSS, search p50/p95 (retrieval: dense + BM25 + sentence scoring, question embedded),
ask p50/p95, and recall@10 of the dense search against exact search over the same vectors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragbot.chunking import Passage, chunk_document, split_sentences
from ragbot.corpus.folder import load_corpus
from ragbot.evaluation.metrics import percentile
from ragbot.models.embedder import embedder_for, load_embedder
from ragbot.models.tokens import count_tokens
from ragbot.settings import Settings

PASSAGES_PER_DOC = 50
NOISE = 0.75  # norm of the noise added to a copied vector (0.5 made 200 near-identical copies of each real vector)


def _sentences(settings: Settings) -> list[str]:
    """Every sentence of the shipped briefs, once."""
    docs = load_corpus(settings.corpus_dir)
    passages = [p for d in docs for p in chunk_document(d, count_tokens, settings.chunk_tokens, settings.chunk_overlap)]
    return sorted({s.strip() for p in passages for s in p.sentence_texts() if len(s.split()) >= 4})


def synthetic_passages(n: int, pool: list[str], seed: int = 0) -> list[Passage]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        doc = i // PASSAGES_PER_DOC
        text = " ".join(rng.sample(pool, rng.randint(3, 8)))
        spans = tuple(split_sentences(text)) or ((0, len(text)),)
        start = (i % PASSAGES_PER_DOC) * 2000
        out.append(
            Passage(
                f"synthetic-{doc:06d}.txt#{i:08d}",
                f"synthetic-{doc:06d}.txt",
                f"Synthetic brief {doc}",
                None,
                start,
                start + len(text),
                count_tokens(text),
                text,
                spans,
            )
        )
    return out


def _perturbed(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n unit vectors: the base ones, then noisy copies of them (cosine ~0.8 to their source, ~0.64 to each other)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[: len(base)] = base[:n]
    for start in range(len(base), n, 100_000):
        end = min(start + 100_000, n)
        src = base[rng.integers(0, len(base), end - start)]
        noise = rng.standard_normal(src.shape).astype(np.float32)
        v = src + NOISE * noise / np.linalg.norm(noise, axis=1, keepdims=True)
        out[start:end] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def build(n: int, directory: Path, settings: Settings, embed: int) -> dict[str, float]:
    from ragbot.index.writer import update_index

    embedder = embedder_for(settings)
    pool = _sentences(settings)
    start = time.perf_counter()
    passages = synthetic_passages(n, pool)
    made = time.perf_counter() - start
    start = time.perf_counter()
    real = min(n, embed)
    base = embedder.encode([p.embedding_text(True) for p in passages[:real]])
    pool_vectors = embedder.encode(pool)
    embed_s = time.perf_counter() - start
    row = {s: i for i, s in enumerate(pool)}
    vectors = _perturbed(base, n)
    sentence_rows = np.array([row.get(s.strip(), 0) for p in passages for s in p.sentence_texts()], dtype=np.int64)
    # every sentence's vector, gathered in blocks into a file: at 10^6 passages they are ~8 GB
    sentence_vectors = np.lib.format.open_memmap(
        directory.parent / f"sentences-{n}.npy", "w+", np.float32, (len(sentence_rows), embedder.dim)
    )
    for start in range(0, len(sentence_rows), 1_000_000):
        sentence_vectors[start : start + 1_000_000] = pool_vectors[sentence_rows[start : start + 1_000_000]]
    documents: dict[str, dict[str, object]] = {}
    for p in passages:  # each document's rows are found from its passages by the writer
        documents[p.doc_id] = {"title": p.title, "sha256": "synthetic", "meta_sha256": ""}
    start = time.perf_counter()
    written = settings.model_copy(update={"index_dir": directory})
    update_index(written, embedder, None, set(), passages, vectors, sentence_vectors, documents)
    write_s = time.perf_counter() - start
    del sentence_vectors
    (directory.parent / f"sentences-{n}.npy").unlink()
    size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    return {
        "passages": n,
        "embedded_passages": real,
        "embedded_sentences": len(pool),
        "synthesise_s": made,
        "embed_s": embed_s,
        "write_s": write_s,
        "disk_mb": size / 2**20,
    }


def probe(directory: Path, settings: Settings, questions: list[str], ef_sweep: list[int] | None = None) -> dict[str, Any]:
    """Run in a fresh process: load, search, ask; report times, resident memory and recall against exact search."""
    import faiss

    from ragbot.chain import Pipeline
    from ragbot.index.dense import DenseSearch
    from ragbot.index.reader import load_index
    from ragbot.models.embedder import query_encoder_for

    encoder = query_encoder_for(settings)  # loaded before the clock: it is the same at any library size
    start = time.perf_counter()
    index = load_index(directory)
    pipeline = Pipeline(settings.model_copy(update={"index_dir": directory}), index, encoder)
    load_s = time.perf_counter() - start
    rss_loaded = _rss_now_mb()
    for q in questions[:3]:
        pipeline.ask(q)
    # different questions for the two timings: a question seen before finds its passages' terms cached
    search, ask = [], []
    for q in questions[3::2]:
        t = time.perf_counter()
        pipeline.retriever.run(q)
        search.append((time.perf_counter() - t) * 1000)
    for q in questions[4::2]:
        t = time.perf_counter()
        pipeline.ask(q)
        ask.append((time.perf_counter() - t) * 1000)
    rss_questions = _rss_now_mb()
    # recall@10 of the dense search against exact search over the same vectors
    exact = faiss.IndexFlatIP(index.vectors.d)
    vectors = index.passage_vectors()
    exact.add(vectors)
    del vectors
    query_vectors = encoder.encode(questions)
    truth = [set(exact.search(qv[None, :], 10)[1][0].tolist()) for qv in query_vectors]
    served = DenseSearch(index.vectors, settings.hnsw_ef_search)  # the dense search the retriever runs (FaissStore)
    recalls = [len(t & set(served.run(qv, 10)[0].tolist())) / 10 for t, qv in zip(truth, query_vectors, strict=True)]
    sweep = {}
    for ef in ef_sweep or []:  # recall@10 and the time of the dense candidate search (top `candidates`) at each hnsw_ef_search
        dense, times, found = DenseSearch(index.vectors, ef), [], []
        for qv in query_vectors:
            t = time.perf_counter()
            rows, _ = dense.run(qv, settings.candidates)
            times.append((time.perf_counter() - t) * 1000)
            found.append(set(rows[:10].tolist()))
        sweep[str(ef)] = {"recall_at_10": float(np.mean([len(t & f) / 10 for t, f in zip(truth, found, strict=True)])),
                          "dense_p50_ms": statistics.median(times)}  # fmt: skip
    return {
        "kind": "+".join(s["dense"] for s in index.manifest["segments"]),
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "rss_after_questions_mb": rss_questions,
        "search_p50_ms": statistics.median(search),
        "search_p95_ms": percentile(search, 0.95),
        "ask_p50_ms": statistics.median(ask),
        "ask_p95_ms": percentile(ask, 0.95),
        "recall_at_10": float(np.mean(recalls)),
        **({"ef_sweep": sweep} if sweep else {}),
    }


def _rss_now_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def throughput(n: int, settings: Settings) -> dict[str, float]:
    """Passages and sentences per second: ONNX Runtime against sentence-transformers, same texts, same threads."""
    passages = synthetic_passages(n, _sentences(settings), seed=1)
    texts = [p.embedding_text(True) for p in passages]
    sentences = [s for p in passages[: n // 2] for s in p.sentence_texts()][: n * 2]
    threads = settings.index_threads or os.cpu_count() or 1
    figures: dict[str, float] = {"threads": threads, "passages": len(texts), "sentences": len(sentences)}
    for runtime, int8 in (("onnx", False), ("onnx", True), ("torch", False)):
        embedder = load_embedder(settings.embed_model, threads, settings.embed_batch_size, runtime, settings.model_cache_dir, int8)
        embedder.encode(texts[:32])
        for what, batch in (("passages", texts), ("sentences", sentences)):
            start = time.perf_counter()
            embedder.encode(batch)
            figures[f"{runtime}{'_int8' if int8 else ''}_{what}_per_s"] = len(batch) / (time.perf_counter() - start)
    return figures


def _questions(path: Path, n: int) -> list[str]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [item["question"] for item in lines][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help="library sizes in passages")
    parser.add_argument("--embed", type=int, default=10_000, help="passages embedded for real; the rest are perturbed copies")
    parser.add_argument("--queries", type=int, default=100, help="questions from eval/briefs_qa.jsonl per size")
    parser.add_argument("--out", type=Path, help="build the libraries here and keep them (default: a temporary folder, removed)")
    parser.add_argument("--ef", type=int, nargs="+", metavar="EF", help="also measure recall and dense search time at these hnsw_ef_search")
    parser.add_argument("--throughput", type=int, metavar="N", help="only compare embedding throughput on N synthetic passages")
    parser.add_argument("--probe", type=Path, metavar="DIR", help="only load and question a library built before")
    args = parser.parse_args()
    settings = Settings.load()
    if args.throughput:
        print(json.dumps(throughput(args.throughput, settings)))
        return
    questions = _questions(Path("eval/briefs_qa.jsonl"), args.queries)
    if args.probe:
        print(json.dumps(probe(args.probe, settings, questions, args.ef)))
        return
    with contextlib.ExitStack() as stack:
        root = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ragbot-scale-")))
        for n in args.sizes:
            directory = root / f"library-{n}"
            if directory.exists():
                raise SystemExit(f"{directory} exists: remove it, or probe it with --probe {directory}")
            figures = build(n, directory, settings, args.embed)
            proc = subprocess.run(
                [sys.executable, __file__, "--probe", str(directory), "--queries", str(args.queries)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode:
                raise SystemExit(f"probe of {n} passages failed:\n{proc.stderr[-2000:]}")
            figures.update(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
