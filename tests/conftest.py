"""Shared fixtures: the real corpus, the real embedder and one real index built per test session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
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


def copy_small_corpus(folder: Path) -> Path:
    """Two of the briefs and sources.json, copied into folder (created)."""
    folder.mkdir(parents=True)
    for name in (
        "2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt",
        "2025-07_fulcrum_asean-rok-security-dual-contingency.txt",
    ):
        shutil.copy(CORPUS / name, folder / name)
    shutil.copy(CORPUS / "sources.json", folder / "sources.json")
    return folder


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A two-brief copy of the corpus, for tests that rebuild or break things."""
    return copy_small_corpus(tmp_path / "corpus")


@contextmanager
def running_server(env: dict[str, str]) -> Iterator[str]:
    """`ragbot serve` in a subprocess on a free loopback port; yields its URL once the page answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragbot.cli", "serve", "--port", str(port)], env={**os.environ, **env}, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ragbot serve exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("ragbot serve did not come up in 120 s") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
