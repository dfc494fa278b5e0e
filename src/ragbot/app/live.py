"""The pipeline being served, shared by the tabs; it is replaced whole when the library changes."""

from __future__ import annotations

import threading
from typing import Any

from ragbot.chain import Pipeline


class LivePipeline:
    """The pipeline being served; after the library changes a new one replaces it whole, under a lock."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.lock = threading.Lock()
        self._by_engine: dict[str, Pipeline] = {pipeline.settings.engine: pipeline}

    def change_library(self, change: Any) -> Pipeline:
        """Apply a change to the corpus folder, then re-index (only what changed) and swap pipelines."""
        with self.lock:
            change(self.pipeline.settings.corpus_dir)
            self.pipeline = Pipeline.build(self.pipeline.settings, self.pipeline.encoder, log=lambda _m: None)
            self._by_engine = {self.pipeline.settings.engine: self.pipeline}
            return self.pipeline

    def with_engine(self, engine: str | None) -> Pipeline:
        """The served pipeline, answering with another engine when a session chose one (same index and encoder)."""
        with self.lock:
            base = self.pipeline
            if not engine or engine == base.settings.engine:
                return base
            if engine not in self._by_engine:
                settings = base.settings.model_copy(update={"engine": engine})
                self._by_engine[engine] = Pipeline(settings, base.index, base.encoder)
            return self._by_engine[engine]


def brief_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    """(label, file name) of each brief in the library, for pickers."""
    return [(f"{d.get('title') or doc_id} ({d.get('date') or '?'})", doc_id) for doc_id, d in pipeline.index.documents.items()]
