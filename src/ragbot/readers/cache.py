"""Extracted text cached beside the index, keyed by the file's sha256 and the reader's fingerprint.

A rebuild reads a PDF, Word file or web page once: ``index/extracted/<sha256>.json`` holds its text and
metadata, written atomically. A changed file has another sha256 and is read again; so is every file
when its reader (or the reader's library) changes version. Offsets in the index point into this text,
so the brief viewer and citations read it from here too (``ragbot.corpus.document_text``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ragbot.files import atomic_write, sha256_file
from ragbot.readers.registry import READERS, Extracted, Progress, read

FOLDER = "extracted"


class ExtractCache:
    """Extracted documents in a folder (None: nothing cached, every call reads the file)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @classmethod
    def beside(cls, index_dir: Path) -> ExtractCache:
        """The cache of an index folder: ``index_dir/extracted``."""
        return cls(index_dir / FOLDER)

    def _path(self, sha256: str) -> Path | None:
        return self.folder / f"{sha256}.json" if self.folder is not None else None

    def get(self, path: Path, sha256: str | None = None, progress: Progress | None = None) -> Extracted:
        """The file's extracted text: from the cache when it holds this file's version read by this reader, else read and stored."""
        data = path.read_bytes()
        return self.extract(data, path.name, sha256, progress)

    def extract(self, data: bytes, name: str, sha256: str | None = None, progress: Progress | None = None) -> Extracted:
        """As ``get``, for a file's bytes (an upload not yet in the corpus folder)."""
        import hashlib

        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        fingerprint = READERS[suffix].fingerprint() if suffix in READERS else ""
        cached = self._path(sha256)
        if cached is not None and cached.is_file():
            try:
                entry = json.loads(cached.read_text(encoding="utf-8"))
                if entry.get("reader") == fingerprint:
                    return Extracted.from_dict(entry["extracted"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                pass  # a damaged entry is read again
        extracted = read(data, name, progress)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            body = {"reader": fingerprint, "file": name, "extracted": extracted.to_dict()}
            atomic_write(cached, json.dumps(body, ensure_ascii=False).encode("utf-8"))
        return extracted

    def prune(self, keep: set[str]) -> None:
        """Delete the entries of files no longer in the corpus (keep: their sha256s)."""
        if self.folder is None or not self.folder.is_dir():
            return
        for entry in self.folder.glob("*.json"):
            if entry.stem not in keep:
                entry.unlink(missing_ok=True)


__all__ = ["FOLDER", "ExtractCache", "sha256_file"]
