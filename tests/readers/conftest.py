"""Fixtures of the reader tests: the shipped briefs and one written for the tests, as briefs to render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragbot.readers import ocr

from ..conftest import CORPUS
from ..required import require
from .render import Brief, brief_from_file, drawable_brief

OWN = Path(__file__).parent / "data" / "2026-02_harbour-pilots-brief.md"
OWN_META = {
    "title": "Harbour Pilots and the Quiet Work of Maritime Safety",
    "authors": ["Marta Oyelaran-Vance"],
    "publisher": "Institute for Coastal Governance",
}
SHIPPED = sorted(p.name for p in CORPUS.glob("*.txt"))
LAYOUTS = {
    "one column": {"columns": 1},
    "two columns": {"columns": 2},
    "three columns": {"columns": 3},
    "indented paragraphs, 'Page n'": {"columns": 2, "indent": True, "page_label": "Page {n}"},
    "11 pt, one column, '- n -'": {"columns": 1, "indent": True, "page_label": "- {n} -", "font_size": 11},
    "five pages": {"columns": 2, "pad_pages": 3},
}


def shipped_brief(name: str) -> Brief:
    entries = {e["file"]: e for e in json.loads((CORPUS / "sources.json").read_text(encoding="utf-8"))}
    return drawable_brief(brief_from_file(CORPUS / name, entries[name]))


def own_brief() -> Brief:
    return drawable_brief(brief_from_file(OWN, OWN_META))


def running_texts(brief: Brief) -> list[str]:
    """What the PDF renderer prints in the margins: the running head and the site."""
    return [f"{brief.publisher} | {brief.title}", brief.site]


def require_tesseract() -> None:
    """Tesseract must be here: under CI its absence fails the test (``make test`` installs it as root), elsewhere it skips."""
    ocr._found.cache_clear()
    if not ocr.available():
        require("tesseract-ocr", "not installed (`make ocr` installs it as root)")


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR unavailable, as on a machine without Tesseract."""
    monkeypatch.setenv("RAGBOT_OCR", "off")
    ocr._found.cache_clear()
    yield
    ocr._found.cache_clear()
