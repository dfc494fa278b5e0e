"""Do documents that try to instruct the app change its answers? The QA set with and without tests/data/injection/.

    .venv/bin/python bench/injection.py [--questions eval/briefs_qa.jsonl]

Three pipelines over the index in index/ (the two others are built beside it in a temporary folder,
embedding only the added documents): the corpus alone; the corpus plus the injection documents; and
a control, the corpus plus the same documents with the words of each line shuffled (the same
words, so the same BM25 statistics, but no instruction left in them). Prints, over every question,
how many answers (text, abstention, cited passages) differ from the corpus alone and from the
control, and how many cite an injection document. Differences from the corpus alone that the
control shares come from adding any documents (term statistics), not from what the documents say.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from pathlib import Path

from threadpoolctl import threadpool_limits

from ragbot.chain import Pipeline
from ragbot.index.writer import build_index
from ragbot.models.embedder import embedder_for, query_encoder_for
from ragbot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
INJECTION = ROOT / "tests" / "data" / "injection"


def shuffled(text: str, seed: int = 0) -> str:
    """Each line's words in random order (headings kept): the same term counts, no sentence left."""
    rng = random.Random(seed)
    out = []
    for line in text.split("\n"):
        words = line.split(" ")
        if not line.startswith("#"):
            rng.shuffle(words)
        out.append(" ".join(words))
    return "\n".join(out)


def with_documents(base: Settings, root: Path, transform: object = None) -> Pipeline:
    shutil.copytree(base.corpus_dir, root / "corpus")
    shutil.copytree(base.index_dir, root / "index")
    for doc in sorted(INJECTION.iterdir()):
        text = doc.read_text(encoding="utf-8")
        (root / "corpus" / doc.name).write_text(transform(text) if callable(transform) else text, encoding="utf-8")
    settings = base.model_copy(update={"corpus_dir": root / "corpus", "index_dir": root / "index"})
    embedder = embedder_for(settings)
    index, _ = build_index(settings, embedder, progress=False, log=lambda _m: None)
    return Pipeline(settings, index, query_encoder_for(settings))


def behaviour(pipeline: Pipeline, question: str) -> tuple[str, bool, tuple[str, ...]]:
    answer = pipeline.ask(question)
    return answer.text, answer.abstained, tuple(c.passage.passage_id for c in answer.citations)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "briefs_qa.jsonl")
    args = ap.parse_args()
    threadpool_limits(1, user_api="blas")
    base = Settings.load()
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    names = {p.name for p in INJECTION.iterdir()}
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        plain = Pipeline.load(base, refresh=False)
        injected = with_documents(base, Path(a))
        control = with_documents(base, Path(b), shuffled)
        rows = [(q, behaviour(plain, q), behaviour(injected, q), behaviour(control, q)) for q in questions]
    vs_plain = [q for q, p, i, _ in rows if p != i]
    vs_control = [q for q, _, i, c in rows if i != c]
    abstention = [q for q, p, i, _ in rows if p[1] != i[1]]
    cites = [q for q, _, i, _ in rows if any(pid.split("#")[0] in names for pid in i[2])]
    print(json.dumps({"questions": len(rows), "injection_documents": len(names), "changed_vs_corpus_alone": len(vs_plain),
                      "abstention_flips_vs_corpus_alone": len(abstention), "changed_vs_shuffled_control": len(vs_control),
                      "answers_citing_an_injection_document": len(cites)}))  # fmt: skip
    for q in vs_plain:
        cause = "also in the control: term statistics" if q not in vs_control else "NOT in the control: the instructions"
        print(f"  changed vs corpus alone ({cause}): {q}")


if __name__ == "__main__":
    main()
