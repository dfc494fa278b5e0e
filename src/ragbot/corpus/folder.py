"""A corpus folder: its documents (any readable format) and their metadata (sources.json), and what changed in it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ragbot.corpus.blocks import Block, parse_blocks
from ragbot.errors import RagbotError
from ragbot.readers.cache import ExtractCache
from ragbot.readers.registry import READERS, SUFFIXES, TEXT_SUFFIXES, Extracted, Progress

SUPPORTED_SUFFIXES = SUFFIXES  # .txt .md as they are; .pdf .docx .html .htm .pptx through ragbot.readers
UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES
SOURCES_FILE = "sources.json"
NORMALISER_VERSION = 1


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: Path
    raw: str
    sha256: str
    title: str
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    date: str | None = None
    series: str | None = None
    blocks: tuple[Block, ...] = field(default=(), repr=False)

    def metadata(self) -> dict[str, object]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "authors": list(self.authors),
            "publisher": self.publisher,
            "date": self.date,
            "series": self.series,
        }


def _read_sources(folder: Path) -> dict[str, dict[str, object]]:
    path = folder / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RagbotError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "file" in e for e in entries):
        raise RagbotError(f'{path} must be a JSON list of objects, each with a "file" key')
    return {str(e["file"]): e for e in entries}


def _fallback_title(doc_id: str, blocks: list[Block]) -> str:
    for block in blocks[:5]:
        if block.kind == "heading" and len(block.text.text) > 8:
            return block.text.text
    stem = Path(doc_id).stem
    stem = re.sub(r"^\d{4}(-\d{2}){0,2}[_-]", "", stem)
    return re.sub(r"[_-]+", " ", stem).strip().capitalize() or doc_id


def _fallback_date(doc_id: str) -> str | None:
    m = re.match(r"(\d{4}(?:-\d{2}){0,2})", doc_id)
    return m.group(1) if m else None


def decode(data: bytes, path: Path) -> str:
    """Decode a corpus file as UTF-8, refusing binary files with a clear message."""
    if b"\x00" in data[:8192]:
        raise RagbotError(f"{path.name} looks like a binary file, not text; remove it from the corpus folder")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RagbotError(f"{path.name} is not UTF-8 text (byte {exc.start}); convert it to UTF-8 or remove it") from None


def corpus_files(folder: Path) -> list[Path]:
    """The document files of a corpus folder, sorted; raises when there are none."""
    if not folder.is_dir():
        raise RagbotError(f"corpus folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise RagbotError(f"corpus folder {folder} has no documents ({' '.join(SUPPORTED_SUFFIXES)})")
    return files


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def document_text(path: Path, cache: ExtractCache | None = None, progress: Progress | None = None) -> Extracted:
    """A document's text, whatever its format: a .txt or .md file's own, else its reader's (cached beside the index).

    Offsets of blocks, passages and citations are positions in this text; the brief viewer shows it.
    """
    if path.suffix.lower() in TEXT_SUFFIXES:
        return Extracted(decode(path.read_bytes(), path))
    return (cache or ExtractCache(None)).get(path, progress=progress)


def load_document(
    path: Path, meta: dict[str, object] | None = None, cache: ExtractCache | None = None, progress: Progress | None = None
) -> Document:
    """A document with its blocks; metadata from sources.json (meta), else what the file carries, else its name."""
    extracted = document_text(path, cache, progress)
    raw = extracted.text
    blocks = parse_blocks(raw)
    if not any(b.kind == "paragraph" for b in blocks):
        raise RagbotError(f"{path.name} has no text to index")
    meta = {**extracted.metadata(), **(meta or {})}
    authors = meta.get("authors") or []
    return Document(
        doc_id=path.name,
        path=path,
        raw=raw,
        sha256=file_sha256(path),
        title=str(meta.get("title") or _fallback_title(path.name, blocks)),
        authors=tuple(str(a) for a in authors) if isinstance(authors, list | tuple) else (str(authors),),
        publisher=str(meta["publisher"]) if meta.get("publisher") else None,
        date=str(meta.get("date") or _fallback_date(path.name) or "") or None,
        series=str(meta["series"]) if meta.get("series") else None,
        blocks=tuple(blocks),
    )


def load_corpus(
    folder: Path,
    only: set[str] | None = None,
    cache: ExtractCache | None = None,
    failed: dict[str, str] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Document]:
    """Load every document of a folder (or just the named ones), metadata from sources.json.

    Without ``failed`` a bad file raises; with it, each bad file's one-line error is recorded there and
    the rest load. ``log`` hears the pages of long documents as they are read.
    """
    sources = _read_sources(folder)
    docs = []
    for p in corpus_files(folder):
        if only is not None and p.name not in only:
            continue
        try:
            docs.append(load_document(p, sources.get(p.name), cache, _page_progress(p.name, log)))
        except RagbotError as exc:
            if failed is None:
                raise
            failed[p.name] = str(exc)
    return docs


PROGRESS_FROM_PAGES = 50  # a document this long reports its pages as it is read


def _page_progress(name: str, log: Callable[[str], None] | None) -> Progress | None:
    """A progress callback that logs every 10% of a long document's pages."""
    if log is None:
        return None
    shown = {-1}

    def report(done: int, total: int) -> None:
        step = done * 10 // total
        if total >= PROGRESS_FROM_PAGES and step not in shown:
            shown.add(step)
            log(f"reading {name}: page {done} of {total}")

    return report


def corpus_state(folder: Path) -> dict[str, dict[str, str]]:
    """Per document: sha256 of its file and of its sources.json entry (metadata changes re-index it too).

    For a file read by a reader (PDF, Word, web page), the reader's fingerprint is part of the entry's
    hash: a new reader version, or OCR becoming available, reads such files again. Plain text is not affected.
    """
    sources = _read_sources(folder)
    state = {}
    fingerprints: dict[str, str] = {}
    for p in corpus_files(folder):
        entry: dict[str, object] = dict(sources.get(p.name, {}))
        suffix = p.suffix.lower()
        if suffix in READERS:
            if suffix not in fingerprints:
                fingerprints[suffix] = READERS[suffix].fingerprint()
            entry = {**entry, "_reader": fingerprints[suffix]}
        state[p.name] = {"sha256": file_sha256(p), "meta_sha256": hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()}
    return state
