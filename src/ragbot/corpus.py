"""Load documents and their metadata; normalise text into blocks that keep offsets into the source file.

Offsets are positions in the file's decoded text (Python string indices), so
``document.raw[start:end]`` is the exact source of a block or passage.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import quantiles

from ragbot.errors import RagbotError
from ragbot.files import atomic_write
from ragbot.readers import READERS, SUFFIXES, TEXT_SUFFIXES, Extracted, Progress
from ragbot.readers.cache import ExtractCache

SUPPORTED_SUFFIXES = SUFFIXES  # .txt .md as they are; .pdf .docx .html .htm .pptx through ragbot.readers
UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES
SOURCES_FILE = "sources.json"
NORMALISER_VERSION = 1


@dataclass(frozen=True)
class TrackedText:
    """Text whose every character remembers its offset in the source file."""

    text: str
    offsets: tuple[int, ...]

    @classmethod
    def of(cls, text: str, start: int) -> TrackedText:
        return cls(text, tuple(range(start, start + len(text))))

    def sub(self, pattern: re.Pattern[str], repl: int | str | Callable[[re.Match[str]], str]) -> TrackedText:
        """Replace matches by a kept group (int) or by literal text placed at the match's offset."""
        out: list[str] = []
        pos: list[int] = []
        last = 0
        for m in pattern.finditer(self.text):
            out.append(self.text[last : m.start()])
            pos.extend(self.offsets[last : m.start()])
            if isinstance(repl, int):
                g0, g1 = m.span(repl)
                if g0 >= 0:
                    out.append(self.text[g0:g1])
                    pos.extend(self.offsets[g0:g1])
            else:
                literal = repl(m) if callable(repl) else repl
                out.append(literal)
                anchor = self.offsets[m.start()] if m.start() < len(self.offsets) else (self.offsets[-1] + 1 if self.offsets else 0)
                pos.extend([anchor] * len(literal))
            last = m.end()
        out.append(self.text[last:])
        pos.extend(self.offsets[last:])
        return TrackedText("".join(out), tuple(pos))

    def strip(self) -> TrackedText:
        left = len(self.text) - len(self.text.lstrip())
        right = len(self.text.rstrip())
        return TrackedText(self.text[left:right], self.offsets[left:right])

    def __add__(self, other: TrackedText) -> TrackedText:
        return TrackedText(self.text + other.text, self.offsets + other.offsets)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Source offsets (start, end) covering characters [start, end) of this text."""
        return self.offsets[start], self.offsets[end - 1] + 1


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph of normalised text."""

    kind: str  # "heading" | "paragraph"
    text: TrackedText
    level: int = 0


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


# --- inline clean-up: each rule keeps a group or writes a literal --------------------------------

_FOOTNOTE_DEF = re.compile(r"^\s*<sup>\s*(\d+)\s*</sup>\s*")
_INLINE_RULES: list[tuple[re.Pattern[str], int | str]] = [
    (re.compile(r"<sup>\s*\d+\s*</sup>"), ""),  # footnote marks
    (re.compile(r"\[([^\]\n]+)\]\((?:[^()\n]|\([^()\n]*\))*\)"), 1),  # [text](url) -> text
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), 1),  # <url> -> url
    (re.compile(r"</li>\s*(?=<li)"), "; "),  # list items inside table cells
    (re.compile(r"</?[a-zA-Z][^<>\n]*>"), " "),  # any other HTML tag
    (re.compile(r"\*\*(.+?)\*\*"), 1),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), 1),  # italic
    (re.compile(r"\\+(?=[_*\[\]()#`\\])"), ""),  # markdown escapes
    (re.compile(r"(?<=[A-Za-z)”’\"]\.)\s?\d{1,2}(?=\s+[A-Z“‘\"(])"), ""),  # plain-text footnote numbers "policy.2 The"
    (re.compile(r"\s+"), " "),  # tabs, runs of spaces, markdown hard breaks
]
_BULLET = re.compile(r"^\s*(?:[-*+•▪◦❖]\s+)+(?:[❖•▪◦]\s*)?")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_NUMBERED_HEADING = re.compile(r"^\s*(\d{1,2}(?:-\d{1,2})*)\.\s+([A-Z][^\n]{1,80})$")
_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*\d{1,4}\s*-|page\s+\d{1,4}(?:\s+of\s+\d+)?)\s*$", re.IGNORECASE)
_SENTENCE_END = tuple('.!?:;"”’)')


def clean_inline(line: TrackedText) -> TrackedText:
    for pattern, repl in _INLINE_RULES:
        line = line.sub(pattern, repl)
    return line.strip()


def _lines(raw: str) -> list[tuple[str, int]]:
    out, start = [], 0
    for line in raw.splitlines(keepends=True):
        out.append((line.rstrip("\r\n"), start))
        start += len(line)
    return out


def _wrap_width(lines: list[str]) -> int | None:
    """The column a hard-wrapped document breaks at, or None when lines are paragraphs."""
    lengths = [len(s) for s in lines if s.strip()]
    if len(lengths) < 20:
        return None
    p90 = quantiles(lengths, n=10)[-1]
    long_share = sum(n >= 0.75 * p90 for n in lengths) / len(lengths)
    return int(p90) if long_share >= 0.5 and p90 <= 140 else None


def parse_blocks(raw: str) -> list[Block]:
    """Split a document into heading and paragraph blocks; joins wrapped lines, drops page numbers."""
    lines = _lines(raw)
    width = _wrap_width([s for s, _ in lines])
    blocks: list[Block] = []
    para: TrackedText | None = None
    para_last_line = ""
    gap = False  # blank lines or a page number since the paragraph's last line
    in_notes = False

    def flush() -> None:
        nonlocal para
        if para is not None and para.text:
            blocks.append(Block("paragraph", clean_inline(para)))  # again: markup may span lines
        para = None

    for text, start in lines:
        if not text.strip() or _PAGE_NUMBER.match(text):
            gap = True
            continue
        heading = _MD_HEADING.match(text)
        numbered = _NUMBERED_HEADING.match(text) if not heading else None
        if numbered and text.rstrip().endswith((".", ",", ";")):
            numbered = None
        if heading or numbered:
            flush()
            if heading:
                level = len(heading.group(1))
                body = TrackedText.of(heading.group(2), start + heading.start(2))
            else:
                level = numbered.group(1).count("-") + 1 if numbered else 1
                body = TrackedText.of(text.strip(), start + len(text) - len(text.lstrip()))
            cleaned = clean_inline(body)
            if cleaned.text:
                blocks.append(Block("heading", cleaned, level))
                in_notes = False
            gap = False
            continue

        line = TrackedText.of(text, start)
        footnote = _FOOTNOTE_DEF.match(text)
        if footnote:
            flush()
            if not in_notes:
                blocks.append(Block("heading", TrackedText("Notes", (start,) * 5), 6))
                in_notes = True
            number = footnote.group(1)
            digits = start + footnote.start(1)
            mark = TrackedText(f"[{number}] ", (digits, *range(digits, digits + len(number)), digits + len(number), digits + len(number)))
            line = mark + TrackedText.of(text[footnote.end() :], start + footnote.end())
        bullet = _BULLET.match(text)
        if bullet:
            flush()
            line = TrackedText.of(text[bullet.end() :], start + bullet.end())
        cleaned = clean_inline(line)
        if not cleaned.text:
            continue

        if para is not None and not footnote and not bullet:
            continues = not para_last_line.rstrip().endswith(_SENTENCE_END) and cleaned.text[:1].islower()
            if gap and not continues:
                flush()
            elif not gap and width and len(para_last_line.rstrip()) < 0.7 * width and para_last_line.rstrip().endswith(_SENTENCE_END):
                flush()  # a short line ending a sentence ends a paragraph in hard-wrapped text
        para = cleaned if para is None else para + TrackedText(" ", (cleaned.offsets[0],)) + cleaned
        para_last_line = text
        gap = False
        if bullet or footnote:
            flush()
    flush()
    return blocks


# --- loading ------------------------------------------------------------------------------------


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


# --- adding and removing documents ---------------------------------------------------------------


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
