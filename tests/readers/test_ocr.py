"""Scans: pages without a text layer read by Tesseract; without it, one line naming the file and its pages without text."""

from __future__ import annotations

import pytest

from ragbot.errors import RagbotError
from ragbot.readers.registry import read

from .conftest import require_tesseract, running_texts, shipped_brief
from .quality import KINDS, sentence_defects, words
from .render import render_pdf, render_scan

BRIEF = "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"


def test_a_scanned_brief_is_read_by_ocr_as_its_text_would_be():
    require_tesseract()
    brief = shipped_brief(BRIEF)
    extracted = read(render_scan(render_pdf(brief)), "scan.pdf")
    assert extracted.ocr_pages == extracted.pages == 3
    source = {w for block in brief.source() for w in words(block)}
    read_words = words(extracted.text)
    assert sum(w in source for w in read_words) / len(read_words) >= 0.98  # OCR misreads a few letters
    found = sentence_defects(extracted.text, brief, running_texts(brief))
    assert {k: found[k] for k in KINDS[:4]} == {k: [] for k in KINDS[:4]}
    assert "About 90 per cent of South Korea’s energy supplies are shipped via the Malacca Strait" in extracted.text


def test_without_ocr_a_scan_is_one_clear_line_and_nothing_is_read(no_ocr):
    with pytest.raises(RagbotError) as caught:
        read(render_scan(render_pdf(shipped_brief(BRIEF))), "old scan.pdf")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("old scan.pdf: 3 of 3 pages have no text layer") and "tesseract-ocr" in message


def test_a_partly_scanned_pdf_without_ocr_is_refused_whole(no_ocr):
    """Nothing half-indexed: a PDF with some pages scanned is refused, not read without them."""
    import pypdfium2 as pdfium

    text_pdf = render_pdf(shipped_brief(BRIEF))
    merged = pdfium.PdfDocument(text_pdf)
    merged.import_pages(pdfium.PdfDocument(render_scan(text_pdf)), [0])
    import io

    buf = io.BytesIO()
    merged.save(buf)
    with pytest.raises(RagbotError, match="1 of 4 pages have no text layer"):
        read(buf.getvalue(), "mixed.pdf")
