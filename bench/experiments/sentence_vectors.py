"""Do sentence vectors pay for themselves? The instant engine on eval/ with and without them, and what they cost.

    .venv/bin/python bench/experiments/sentence_vectors.py [--dataset eval/briefs_qa.jsonl eval/unanswerable_qa.jsonl]

"Without" replaces every sentence's vector by its passage's vector, so a sentence scores the
passage's cosine plus its own term coverage (retrieval, answer picking and citation support all
see that). Prints hit@1, MRR, key facts, wrong-answer rate and abstention for both, the vectors'
share of the index on disk, and the embedding time the sentences add for the shipped briefs.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from ragbot.chain import Pipeline
from ragbot.evaluation import runner
from ragbot.evaluation.dataset import combine, load_dataset
from ragbot.evaluation.report import summarise
from ragbot.index.reader import Index, load_index
from ragbot.models.embedder import embedder_for, query_encoder_for
from ragbot.settings import Settings

SHOWN = ("hit@1", "mrr", "key_fact_recall", "wrong_answer_rate", "abstention", "false_abstention")


def passage_only(index: Index) -> Index:
    vectors = index.passage_vectors()
    per_sentence = np.repeat(vectors, np.diff(np.asarray(index.sentence_start)), axis=0)
    return dataclasses.replace(index, sentence_vectors=per_sentence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", nargs="+", type=Path, default=[Path("eval/briefs_qa.jsonl"), Path("eval/unanswerable_qa.jsonl")])
    args = parser.parse_args()
    settings = Settings.load(engine="extractive")
    index = load_index(settings.index_dir)
    items = combine([load_dataset(p, settings.corpus_dir) for p in args.dataset]).items
    encoder = query_encoder_for(settings)
    for name, variant in (("passage + sentence vectors", index), ("passage vectors only", passage_only(index))):
        with tempfile.TemporaryDirectory() as tmp:
            records = runner.run(Pipeline(settings, variant, encoder), items, Path(tmp), progress=False)
        overall = summarise(records, {})["overall"]
        print(f"{name:28s} " + "  ".join(f"{k} {overall.get(k, float('nan')):.3f}" for k in SHOWN))
    embedder = embedder_for(settings)
    passages = [p.embedding_text(settings.embed_title) for p in index.passages]
    sentences = sorted({s for p in index.passages for s in p.sentence_texts()})
    for what, texts in (("passages", passages), ("sentences", sentences)):
        start = time.perf_counter()
        embedder.encode(texts)
        print(f"embedding {len(texts)} {what}: {time.perf_counter() - start:.1f} s")
    sizes = {kind: (settings.index_dir / art["file"]).stat().st_size for kind, art in index.manifest["artifacts"].items()}
    print(f"on disk: sentence vectors {sizes['sentences'] / 2**20:.1f} MB of {sum(sizes.values()) / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
