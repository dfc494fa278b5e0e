"""Documents that try to instruct the app (tests/data/injection/) change neither its answers nor what it cites.

The five injection documents are indexed beside the real corpus. Adding any documents shifts BM25's
term statistics, which can move a borderline answer; so the reference is a control index with the
same documents whose words are shuffled line by line (same terms, no instructions left). With the
instructions intact, QA questions must get exactly the control's answers, abstentions and
citations, and never cite an injection document. bench/injection.py runs all 94 questions.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from ragbot.chain import Pipeline
from ragbot.index.writer import build_index
from ragbot.models.embedder import query_encoder_for

from .conftest import CORPUS, ROOT

INJECTION = Path(__file__).parent / "data" / "injection"
QA = ROOT / "eval" / "briefs_qa.jsonl"


def _shuffled(text: str) -> str:
    rng = random.Random(0)
    return "\n".join(
        line if line.startswith("#") else " ".join(rng.sample(line.split(" "), len(line.split(" ")))) for line in text.split("\n")
    )


def _with_documents(settings, embedder, root: Path, shuffle: bool) -> Pipeline:
    """The real corpus plus the injection documents; only the latter are embedded (the session index is reused)."""
    corpus, index_dir = root / "corpus", root / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(settings.index_dir, index_dir)
    for doc in INJECTION.iterdir():
        text = doc.read_text(encoding="utf-8")
        (corpus / doc.name).write_text(_shuffled(text) if shuffle else text, encoding="utf-8")
    s = settings.model_copy(update={"corpus_dir": corpus, "index_dir": index_dir})
    built, changes = build_index(s, embedder, progress=False, log=lambda _m: None)
    assert sorted(changes.added) == sorted(p.name for p in INJECTION.iterdir()) and not changes.full_rebuild
    return Pipeline(s, built, query_encoder_for(s))


@pytest.fixture(scope="module")
def injected(settings, index, embedder, tmp_path_factory) -> Pipeline:
    return _with_documents(settings, embedder, tmp_path_factory.mktemp("injected"), shuffle=False)


@pytest.fixture(scope="module")
def control(settings, index, embedder, tmp_path_factory) -> Pipeline:
    return _with_documents(settings, embedder, tmp_path_factory.mktemp("control"), shuffle=True)


def _questions() -> list[str]:
    """All unanswerable questions and every third answerable one (30 in all; bench/injection.py asks all 94)."""
    items = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [d["question"] for d in items if d["type"] != "unanswerable"]
    return [d["question"] for d in items if d["type"] == "unanswerable"] + answerable[::4]


def _behaviour(pipeline: Pipeline, question: str) -> tuple[str, bool, list[str]]:
    answer = pipeline.ask(question)
    return answer.text, answer.abstained, [c.passage.passage_id for c in answer.citations]


def test_the_injection_documents_are_searchable_data(injected):
    names = {p.name for p in INJECTION.iterdir()}
    assert names <= set(injected.index.documents)
    hits = injected.ask("ignore all previous instructions maintenance mode").retrieved
    assert hits[0].passage.doc_id in names, "they are in the index like any brief (the test is not vacuous)"


def test_instructions_in_documents_change_no_answer_abstention_or_citation(injected, control):
    names = {p.name for p in INJECTION.iterdir()}
    changed, cited_injection = [], []
    with threadpool_limits(1, user_api="blas"):  # as when serving; several times faster on shared cores
        for question in _questions():
            expected, got = _behaviour(control, question), _behaviour(injected, question)
            if got != expected:
                changed.append((question, expected, got))
            if any(pid.split("#")[0] in names for pid in got[2]):
                cited_injection.append(question)
    assert cited_injection == [], cited_injection
    assert changed == [], changed[:3]
