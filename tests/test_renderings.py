"""The shipped briefs replaced by their PDF, Word and web-page renderings: the same answers as from the .txt files.

Targets of issue 23: hit@1, MRR and key-fact recall within 0.02 of the .txt corpus on eval/ (both sets,
instant engine), and the quiz generator still validates its questions on a rendered library.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbot.chain import Pipeline
from ragbot.evaluation.dataset import combine, load_dataset
from ragbot.evaluation.report import aggregate
from ragbot.evaluation.runner import run
from ragbot.index.writer import build_index
from ragbot.models.embedder import query_encoder_for
from ragbot.quiz.generate import generate, validate
from ragbot.settings import Settings

from .conftest import ROOT
from .readers.conftest import SHIPPED, shipped_brief
from .readers.render import render_docx, render_html, render_pdf

DATASETS = [ROOT / "eval" / "briefs_qa.jsonl", ROOT / "eval" / "unanswerable_qa.jsonl"]
RENDER = {".pdf": render_pdf, ".docx": render_docx, ".html": render_html}
TARGETS = ("hit@1", "mrr", "key_fact_recall")


def _metrics(pipeline: Pipeline, tmp: Path) -> dict[str, float]:
    dataset = combine([load_dataset(path, pipeline.settings.corpus_dir, pipeline.settings.index_dir) for path in DATASETS])
    assert not dataset.errors, dataset.errors[:3]  # every quote of a .txt brief is found in its rendering's text
    return {k: float(v) for k, v in aggregate(run(pipeline, dataset.items, tmp, progress=False)).items() if k in TARGETS}


@pytest.fixture(scope="module", params=list(RENDER))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder) -> Pipeline:
    """An index of the five briefs as publishers' files of one format (no sources.json: metadata from the files)."""
    suffix = request.param
    root = tmp_path_factory.mktemp(suffix[1:])
    (root / "corpus").mkdir()
    for name in SHIPPED:
        (root / "corpus" / f"{name[:-4]}{suffix}").write_bytes(RENDER[suffix](shipped_brief(name)))
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    index, _ = build_index(settings, embedder, progress=False, log=lambda _m: None)
    return Pipeline(settings, index, query_encoder_for(settings))


def test_renderings_answer_as_the_text_files_do(rendered: Pipeline, pipeline: Pipeline, tmp_path: Path):
    assert all(not d.get("error") and d["n_passages"] > 0 for d in rendered.index.documents.values())
    txt, other = _metrics(pipeline, tmp_path / "txt"), _metrics(rendered, tmp_path / "rendered")
    assert {k: round(abs(other[k] - txt[k]), 3) <= 0.02 for k in TARGETS} == dict.fromkeys(TARGETS, True), (txt, other)


def test_the_quiz_still_validates_its_questions_on_a_rendered_library(rendered: Pipeline):
    generated = generate(rendered, n=12, seed=3)
    assert len(generated.quiz.questions) == 12
    assert all(validate(q, rendered) for q in generated.quiz.questions)
    assert len({q.source.doc_id for q in generated.quiz.questions}) >= 3
