"""Readers: a document file's bytes -> its text as ``ragbot.corpus.blocks.parse_blocks`` reads it, with the file's metadata.

One module per format, each with one entry point ``read(data, name, progress=None) -> Extracted``:
``pdf`` (pypdfium2, scans through ``ocr``), ``docx`` (python-docx), ``html`` (BeautifulSoup), ``pptx``
(python-pptx); ``.txt`` and ``.md`` are their own text. ``READERS`` maps a file suffix to its reader.
A user's bad file is one ``RagbotError`` line naming it, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from ragbot.errors import RagbotError
from ragbot.readers.record import Extracted

Progress = Callable[[int, int], None]
TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Reader:
    """A format's reader: its module (imported when first used) and what a file of that format is called in messages."""

    module: str
    kind: str

    def read(self, data: bytes, name: str, progress: Progress | None = None) -> Extracted:
        return import_module(f"ragbot.readers.{self.module}").read(data, name, progress)  # type: ignore[no-any-return]

    def fingerprint(self) -> str:
        """The reader's version and its library's: when it changes, files it read are read again and re-indexed."""
        module = import_module(f"ragbot.readers.{self.module}")
        extra = f"+{import_module('ragbot.readers.ocr').version()}" if self.module == "pdf" else ""
        return f"{self.module}/{module.VERSION}/{module.library_version()}{extra}"


READERS = {
    ".pdf": Reader("pdf", "a PDF"),
    ".docx": Reader("docx", "a Word (.docx) file"),
    ".html": Reader("html", "a web page"),
    ".htm": Reader("html", "a web page"),
    ".pptx": Reader("pptx", "a PowerPoint (.pptx) file"),
}
SUFFIXES = (*TEXT_SUFFIXES, *READERS)


def sniff(data: bytes) -> str | None:
    """What a file's first bytes say it is (".pdf", ".docx", ".pptx", ".html", ".zip", ".png"...), or None."""
    head = data[:2048]
    if head.lstrip().startswith(b"%PDF"):
        return ".pdf"
    if head.startswith(b"PK\x03\x04"):
        return ".docx" if b"word/" in data[:65536] else ".pptx" if b"ppt/" in data[:65536] else ".zip"
    if head.startswith(b"\x89PNG"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ".doc"
    low = head.lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html")):
        return ".html"
    return None


def read(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    """Extract a document (its format by its suffix); a file that cannot be read raises one RagbotError line naming it."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    reader = READERS.get(suffix)
    if reader is None:
        raise RagbotError(f"{name}: {suffix or 'no suffix'} files cannot be read (readable: {', '.join(SUFFIXES)})")
    if not data.strip():
        raise RagbotError(f"{name} is empty")
    try:
        extracted = reader.read(data, name, progress)
    except RagbotError:
        raise
    except Exception as exc:  # a damaged file: the libraries raise anything (zipfile, lxml, KeyError, ...)
        actual = sniff(data)
        hint = f"; its bytes say it is {actual[1:]}, not {suffix[1:]}" if actual and actual != suffix and actual != ".zip" else ""
        raise RagbotError(f"{name} is not a readable {suffix[1:]} file ({type(exc).__name__}){hint}") from None
    if not any(c.isalnum() for c in extracted.text):
        raise RagbotError(f"{name} has no text to index")
    return extracted


__all__ = ["READERS", "SUFFIXES", "TEXT_SUFFIXES", "Extracted", "Reader", "read", "sniff"]
