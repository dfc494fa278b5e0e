"""Adding a document to the corpus folder (checked, read, saved atomically) and removing one."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ragbot.corpus.blocks import parse_blocks
from ragbot.corpus.folder import SUPPORTED_SUFFIXES, UPLOAD_SUFFIXES, decode
from ragbot.errors import RagbotError
from ragbot.files import atomic_write
from ragbot.readers.cache import ExtractCache
from ragbot.readers.registry import TEXT_SUFFIXES


def safe_filename(name: str, suffix: str) -> str:
    """A plain file name for an upload: no folders, no path tricks, only letters, digits, . _ -."""
    stem = Path(name.replace("\\", "/")).name
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix else stem
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:100]
    return f"{stem or 'document'}{suffix}"


def add_document(folder: Path, name: str, data: bytes, max_bytes: int, cache: ExtractCache | None = None) -> str:
    """Check an uploaded document and save it into the corpus folder atomically, as it is; returns its doc_id.

    A PDF, Word file or web page is read first (its text cached, so indexing does not read it again):
    a file that cannot be read is refused in one line and nothing is written.
    """
    suffix = Path(name).suffix.lower()
    shown = "".join(c if c.isprintable() else "?" for c in Path(name).name)[:120]  # errors stay one line
    if suffix not in UPLOAD_SUFFIXES:
        raise RagbotError(f"{shown}: only {', '.join(UPLOAD_SUFFIXES)} files can be added")
    if len(data) > max_bytes:
        raise RagbotError(f"{shown} is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    text = decode(data, Path(shown)) if suffix in TEXT_SUFFIXES else (cache or ExtractCache(None)).extract(data, shown).text
    if not any(b.kind == "paragraph" for b in parse_blocks(text)):
        raise RagbotError(f"{shown} has no text to index")
    target = folder / safe_filename(name, suffix)
    if target.exists():
        raise RagbotError(f"{target.name} is already in the library; remove it first to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(target, data)
    return target.name


def remove_document(folder: Path, doc_id: str) -> None:
    """Delete one document file of the corpus folder (and nothing outside it)."""
    path = folder / Path(doc_id).name
    if Path(doc_id).name != doc_id or path.suffix.lower() not in SUPPORTED_SUFFIXES or not path.is_file():
        raise RagbotError(f"{doc_id} is not a document of the library")
    path.unlink()
