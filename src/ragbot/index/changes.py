"""How a corpus folder differs from what an index was built from: what to embed, keep or drop, or a full rebuild."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragbot.corpus.folder import NORMALISER_VERSION
from ragbot.index.reader import FORMAT_VERSION
from ragbot.settings import Settings


@dataclass
class CorpusChanges:
    """How the corpus differs from what an index was built from."""

    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    full_rebuild: str | None = None  # why everything must be re-embedded, if it must

    @property
    def stale(self) -> bool:
        return bool(self.added or self.modified or self.removed or self.full_rebuild)

    def summary(self) -> str:
        if self.full_rebuild:
            return f"full rebuild: {self.full_rebuild}"
        parts = [
            f"{name}: {', '.join(docs)}"
            for name, docs in (("added", self.added), ("modified", self.modified), ("removed", self.removed))
            if docs
        ]
        return "; ".join(parts) if parts else "index is up to date"


def diff_corpus(manifest: dict[str, Any] | None, state: dict[str, dict[str, str]], settings: Settings) -> CorpusChanges:
    if manifest is None:
        return CorpusChanges(added=sorted(state), full_rebuild="no index yet")
    changes = CorpusChanges()
    if manifest.get("format_version") != FORMAT_VERSION or manifest.get("normaliser_version") != NORMALISER_VERSION:
        changes.full_rebuild = "index format changed"
    elif manifest.get("chunking") != settings.chunking():
        old, new = manifest.get("chunking", {}), settings.chunking()
        changed = ", ".join(f"{k} {old.get(k)} -> {v}" for k, v in new.items() if old.get(k) != v)
        changes.full_rebuild = f"settings changed ({changed})"
    built = manifest.get("documents", {})
    for doc_id, fp in state.items():
        if doc_id not in built:
            changes.added.append(doc_id)
        elif (built[doc_id]["sha256"], built[doc_id].get("meta_sha256")) != (fp["sha256"], fp["meta_sha256"]):
            changes.modified.append(doc_id)
        else:
            changes.unchanged.append(doc_id)
    changes.removed = sorted(set(built) - set(state))
    return changes
