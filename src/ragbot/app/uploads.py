"""Adding several documents at once (the Documents tab and POST /api/briefs/upload): each read, then one re-index.

Each file is checked and read first, outside the library's lock (a long PDF reports its pages); the text
goes into the index's extracted-text cache, so the build that follows does not read it again. A file
that cannot be read is one line in ``errors``; the others are added, and only they are embedded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ragbot.app.live import LivePipeline
from ragbot.chain import Pipeline
from ragbot.corpus.edit import add_document, safe_filename
from ragbot.corpus.folder import UPLOAD_SUFFIXES
from ragbot.errors import RagbotError
from ragbot.readers.cache import ExtractCache
from ragbot.readers.registry import TEXT_SUFFIXES

Report = Callable[[float, str], None]  # (fraction done, what is happening)
MAX_FILES = 20  # files in one upload


@dataclass
class Added:
    """What an upload did: the documents added (their doc_ids), one line per file refused, and the pipeline now served."""

    pipeline: Pipeline
    added: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people: what was added, then why each other file was not."""
        parts = []
        if self.added:
            docs = self.pipeline.index.documents
            parts.append("Added " + ", ".join(f"{d} ({docs.get(d, {}).get('n_passages', 0)} passages)" for d in self.added))
        parts += [f"not added: {e}" for e in self.errors]
        return "; ".join(parts) or "Nothing to add."


def add_files(live: LivePipeline, files: Sequence[tuple[str, bytes]], report: Report | None = None) -> Added:
    """Read every file, add the readable ones to the corpus folder, and re-index once (only the new documents are embedded)."""
    current = live.pipeline
    settings = current.settings
    max_bytes = settings.max_upload_mb * 1_000_000
    cache = ExtractCache.beside(settings.index_dir)
    result = Added(current)
    if len(files) > MAX_FILES:
        result.errors.append(f"{len(files)} files at once; the limit is {MAX_FILES}")
        return result
    ready: list[tuple[str, bytes]] = []
    for n, (name, data) in enumerate(files):
        shown = Path(name.replace("\\", "/")).name
        say = (
            (lambda done, total, _n=n, _s=shown: report((_n + done / total) / (len(files) + 1), f"Reading {_s}: page {done} of {total}"))
            if report
            else None
        )
        if report:
            report(n / (len(files) + 1), f"Reading {shown}")
        suffix = Path(shown).suffix.lower()
        try:
            if suffix not in UPLOAD_SUFFIXES:
                raise RagbotError(f"{shown}: only {', '.join(UPLOAD_SUFFIXES)} files can be added")
            if len(data) > max_bytes:
                raise RagbotError(f"{shown} is {len(data) / 1e6:.1f} MB; the limit is {settings.max_upload_mb} MB")
            if suffix not in TEXT_SUFFIXES:
                cache.extract(data, shown, progress=say)  # read now, outside the lock; the build finds it cached
            if (settings.corpus_dir / safe_filename(name, suffix)).exists():
                raise RagbotError(f"{safe_filename(name, suffix)} is already in the library; remove it first to replace it")
        except RagbotError as exc:
            result.errors.append(str(exc))
            continue
        ready.append((name, data))
    if not ready:
        return result
    if report:
        report(len(files) / (len(files) + 1), f"Indexing {len(ready)} new document{'s' if len(ready) > 1 else ''}")

    def change(folder: Path) -> None:
        for name, data in ready:
            try:
                result.added.append(add_document(folder, name, data, max_bytes, cache))
            except RagbotError as exc:
                result.errors.append(str(exc))

    result.pipeline = live.change_library(change)
    if report:
        report(1.0, "Done")
    return result
