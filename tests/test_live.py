"""The served pipeline follows the index folder: a build written by another process (a replica) is picked up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ragbot.app.live import LivePipeline
from ragbot.chain import Pipeline
from ragbot.settings import Settings

from .conftest import CORPUS, copy_small_corpus

ADDED = "2019-06_asan_new-southern-policy-peace-cooperation.txt"


def test_a_build_written_by_another_process_is_served_on_the_next_request(tmp_path: Path):
    corpus, index_dir = copy_small_corpus(tmp_path / "corpus"), tmp_path / "index"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env |= {"RAGBOT_CORPUS_DIR": str(corpus), "RAGBOT_INDEX_DIR": str(index_dir)}

    def index() -> None:  # `ragbot index` in its own process, as another replica's upload would run it
        proc = subprocess.run([sys.executable, "-m", "ragbot.cli", "index"], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr

    index()
    live = LivePipeline(Pipeline.load(Settings(corpus_dir=corpus, index_dir=index_dir), refresh=False))
    served = live.pipeline
    assert ADDED not in served.index.documents
    assert live.pipeline is served  # nothing changed on disk: the same pipeline, not reloaded
    shutil.copy(CORPUS / ADDED, corpus / ADDED)
    index()
    assert ADDED in live.pipeline.index.documents and live.pipeline is not served
    answer = live.pipeline.ask("What is the New Southern Policy?", "extractive", docs={ADDED})
    assert answer.citations and all(c.passage.doc_id == ADDED for c in answer.citations)


def test_a_build_that_lands_while_a_pipeline_loads_is_not_missed(tmp_path: Path):
    """The stamp is not taken after the load: a build switched in between is served on the first request."""
    corpus, index_dir = copy_small_corpus(tmp_path / "corpus"), tmp_path / "index"
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    loaded = Pipeline.build(settings)
    shutil.copy(CORPUS / ADDED, corpus / ADDED)
    Pipeline.build(settings, loaded.encoder)  # another replica's build, after `loaded` was read
    live = LivePipeline(loaded)
    assert ADDED in live.pipeline.index.documents
    served = live.pipeline
    assert live.pipeline is served  # checked once, then only when the manifest changes
