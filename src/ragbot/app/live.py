"""The pipeline being served, shared by the tabs; it is replaced whole when the library changes, here or in another process."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.index.reader import MANIFEST, load_index, read_manifest


class LivePipeline:
    """The pipeline being served; after the library changes a new one replaces it whole, under a lock.

    Replicas that serve one index folder (a shared volume) stay in step: the manifest is the one file
    a new build replaces, so when its stamp changes (one stat a request) the newer build is loaded.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self.lock = threading.Lock()
        # Unknown, not the stamp now: a build that landed after this pipeline was loaded is found on the first request.
        self._seen: tuple[int, int] | object | None = _UNKNOWN

    @property
    def pipeline(self) -> Pipeline:
        """The served pipeline, first reloaded if another process switched the index folder to a newer build."""
        stamp = _stamp(self._pipeline.settings.index_dir)
        if stamp != self._seen:
            with self.lock:
                if stamp != self._seen:
                    self._reload(stamp)
        return self._pipeline

    def _reload(self, stamp: tuple[int, int] | None) -> None:
        base = self._pipeline
        manifest = read_manifest(base.settings.index_dir)
        if manifest is not None and manifest.get("build") != base.index.manifest.get("build"):
            try:
                self._pipeline = Pipeline(base.settings, load_index(base.settings.index_dir), base.encoder)
            except RagbotError as exc:  # keep serving the build in memory; the next request tries again
                print(f"ragbot: the index changed on disk but cannot be loaded ({exc}); still serving the previous one", file=sys.stderr)
                return
        self._seen = stamp

    def change_library(self, change: Any) -> Pipeline:
        """Apply a change to the corpus folder, then re-index (only what changed) and swap pipelines."""
        with self.lock:
            change(self._pipeline.settings.corpus_dir)
            self._pipeline = Pipeline.build(self._pipeline.settings, self._pipeline.encoder, log=lambda _m: None)
            self._seen = _UNKNOWN  # another replica may have built after this one: the next request checks
            return self._pipeline


_UNKNOWN = object()


def _stamp(index_dir: Path) -> tuple[int, int] | None:
    """The manifest file's modification time and inode (None when there is none)."""
    try:
        st = os.stat(index_dir / MANIFEST)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino


def brief_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    """(label, file name) of each brief in the library, for pickers."""
    return [(f"{d.get('title') or doc_id} ({d.get('date') or '?'})", doc_id) for doc_id, d in pipeline.index.documents.items()]
