"""Shared fixtures: the real corpus, the real embedder and one real index built per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ragbot.app.roles import hash_password
from ragbot.chain import Pipeline
from ragbot.index.reader import Index
from ragbot.index.writer import build_index
from ragbot.models.embedder import Embedder, embedder_for, load_embedder, query_encoder_for
from ragbot.quiz.model import Question, Quiz, Source, corpus_fingerprint
from ragbot.settings import Settings

from .index.conftest import free_port, milvus_uri  # noqa: F401 (Milvus Lite's server, for tests outside tests/index too)
from .userdata.conftest import postgres_server  # noqa: F401 (the PostgreSQL server, for tests outside tests/userdata too)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The embedder `ragbot index` uses (MiniLM in ONNX Runtime); one thread, so forked test children can use it."""
    return embedder_for(Settings(index_threads=1))


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    """sentence-transformers itself: the reference the ONNX encoder must match."""
    return load_embedder("all-MiniLM-L6-v2", 1, 16, runtime="torch")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def index(settings: Settings, embedder: Embedder) -> Index:
    built, _ = build_index(settings, embedder, progress=False, log=lambda _m: None)
    return built


@pytest.fixture(scope="session")
def pipeline(settings: Settings, index: Index) -> Pipeline:
    return Pipeline(settings, index, query_encoder_for(settings))


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


MALACCA = "About 90 per cent of South Korea’s energy supplies are shipped via the Malacca Strait and adjacent sea routes."
CSP_NAME = "Comprehensive Strategic Partnership"
CSP = f"At the ASEAN-Korea Summit held in October 2024, ASEAN and South Korea elevated their partnership to a {CSP_NAME} (CSP)."


def sample_quiz(index: Index, quiz_id: str = "sample-quiz") -> Quiz:
    """Three questions on two passages of the two-brief corpus (also in the full one), tied to index's corpus.

    Answers: 1 is B (90 per cent), 2 is False (2024, not 2019), 3 is "Comprehensive Strategic Partnership".
    """

    def source(sentence: str) -> tuple[Source, str]:
        p = next(p for p in index.passages if sentence in p.text)
        return Source(p.passage_id, p.doc_id, p.title, p.text), f"“{sentence}” ({p.title}{', ' + p.section if p.section else ''})"

    malacca, why_malacca = source(MALACCA)
    csp, why_csp = source(CSP)
    blank, csp_blank = MALACCA.replace("90 per cent", "_____"), CSP.replace(f"{CSP_NAME} (CSP)", "_____")
    questions = [
        Question("q1", "mcq", f"In “{malacca.title}”, which figure completes this statement? “{blank}”", "90 per cent", why_malacca,
                 malacca, ["60 per cent", "90 per cent", "45 per cent", "75 per cent"], "number"),
        Question("q2", "truefalse", f"True or false? According to “{csp.title}”: “{CSP.replace('2024', '2019')}”", "False",
                 f"False: the brief says 2024, not 2019. {why_csp}", csp, None, "year"),
        Question("q3", "short", f"Fill in the blank (name), from “{csp.title}”: “{csp_blank}”", CSP_NAME, why_csp, csp, None,
                 "organisation"),
    ]  # fmt: skip
    return Quiz(quiz_id, "2026-11-22T12:00:00+00:00", corpus_fingerprint(index.documents), questions)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for a failure message."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@contextmanager
def running_server(env: dict[str, str], setup: str = "") -> Iterator[str]:
    """`ragbot serve` in a subprocess on a free loopback port; yields its URL once the page answers.

    Its stderr goes to a file, not a pipe nobody reads (a full pipe would block the server); a failure shows the file's tail.
    ``setup``: Python run in the server's process before it starts (a test's hold on one step, never a stand-in for it).
    """
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="ragbot-serve-")) / "stderr.log"
    start = ["-c", f"{setup}\nimport sys\nfrom ragbot.cli import main\nsys.exit(main(sys.argv[1:]))"] if setup else ["-m", "ragbot.cli"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, *start, "serve", "--port", str(port)], env={**os.environ, **env}, stderr=log)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ragbot serve exited ({proc.returncode}); its stderr ends:\n{tail(log_path)}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"ragbot serve did not come up in 120 s; its stderr ends:\n{tail(log_path)}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            raise RuntimeError(f"ragbot serve did not stop in 30 s after SIGTERM; its stderr ends:\n{tail(log_path)}") from None
        shutil.rmtree(log_path.parent, ignore_errors=True)


EDITOR = ("eda", "editor-pass-1")  # RAGBOT_USER / RAGBOT_PASSWORD of `deployment`
READER = ("rita", "reader-pass-1")  # in its users file, with a hashed password


@pytest.fixture(scope="module")
def deployment(index: Index, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A copy of the library (a removal must not touch corpus/) served with an editor and a reader."""
    root = tmp_path_factory.mktemp("roles")
    shutil.copytree(CORPUS, root / "corpus")
    shutil.copytree(settings.index_dir, root / "index", symlinks=True)
    reader = f'[[users]]\nname = "{READER[0]}"\npassword_hash = "{hash_password(READER[1])}"\nrole = "reader"\n'
    (root / "users.toml").write_text(reader, encoding="utf-8")
    env = {"RAGBOT_INDEX_DIR": str(root / "index"), "RAGBOT_CORPUS_DIR": str(root / "corpus"), "RAGBOT_DATA_DIR": str(root / "data"),
           "RAGBOT_USER": EDITOR[0], "RAGBOT_PASSWORD": EDITOR[1], "RAGBOT_USERS_FILE": str(root / "users.toml")}  # fmt: skip
    with running_server(env) as url:
        yield url, root
