"""Shared fixtures: the real corpus, the real embedder and one real index built per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragbot.chain import Pipeline
from ragbot.index import Index, build_index
from ragbot.models import Embedder, load_embedder, load_query_encoder
from ragbot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("all-MiniLM-L6-v2", 1, 16)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def index(settings: Settings, embedder: Embedder) -> Index:
    built, _ = build_index(settings, embedder, progress=False, log=lambda _m: None)
    return built


@pytest.fixture(scope="session")
def pipeline(settings: Settings, index: Index) -> Pipeline:
    return Pipeline(settings, index, load_query_encoder(settings.embed_model, settings.threads))


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A two-brief copy of the corpus, for tests that rebuild or break things."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in (
        "2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt",
        "2025-07_fulcrum_asean-rok-security-dual-contingency.txt",
    ):
        shutil.copy(CORPUS / name, folder / name)
    shutil.copy(CORPUS / "sources.json", folder / "sources.json")
    return folder
