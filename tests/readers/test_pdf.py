"""PDFs read as a person reads them: columns in order, no running heads, page numbers, footnote fragments or broken words."""

from __future__ import annotations

import io
import re

import pytest

from ragbot.errors import RagbotError
from ragbot.readers import pdf
from ragbot.readers.registry import read

from .conftest import LAYOUTS, SHIPPED, own_brief, running_texts, shipped_brief
from .quality import KINDS, sentence_defects
from .render import render_pdf

DEFECTS = KINDS[:4]  # running head, page number, footnote, hyphen-broken word


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_briefs_typeset_in_two_columns_read_without_defects(name: str):
    brief = shipped_brief(name)
    found = sentence_defects(read(render_pdf(brief), f"{name[:-4]}.pdf").text, brief, running_texts(brief))
    assert {k: found[k] for k in KINDS} == {k: [] for k in KINDS}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_brief_written_for_the_tests_in_several_layouts(layout: str):
    brief = own_brief()
    found = sentence_defects(read(render_pdf(brief, **LAYOUTS[layout]), "own.pdf").text, brief, running_texts(brief))
    assert {k: found[k] for k in KINDS} == {k: [] for k in KINDS}


def test_structure_headings_footnotes_table_and_metadata():
    extracted = read(render_pdf(own_brief()), "own.pdf")
    text = extracted.text
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    assert {"Why pilotage matters", "Training and certification", "Fatigue and working hours", "Recommendations"} <= set(headings)
    # footnotes: their own blocks at the end, marks out of the sentences
    notes = re.findall(r"^<sup>(\d+)</sup> (.+)$", text, re.M)
    assert [n for n, _ in notes] == ["1", "2", "3"] and notes[1][1].startswith("Figures compiled from national accident")
    body = text[: text.index("<sup>1</sup> International")]
    assert "International Maritime Pilots" not in body and "accident investigation reports" not in body
    assert "departing one.<sup>1</sup>" in body
    # the table: one row a block
    assert "North | 10 | 120" in text.splitlines() and "Estuary | 6 | 200" in text.splitlines()
    assert (extracted.title, extracted.authors) == ("Harbour Pilots and the Quiet Work of Maritime Safety", ("Marta Oyelaran-Vance",))
    assert extracted.date == "2026-02-14"  # from the title block
    assert "four hundred metres" in text and "Institute for Coastal Governance | Harbour" not in text


def test_a_300_page_pdf_reports_its_progress_page_by_page():
    data = render_pdf(own_brief(), pad_pages=295)
    seen: list[tuple[int, int]] = []
    extracted = read(data, "long.pdf", progress=lambda done, total: seen.append((done, total)))
    assert extracted.pages >= 300 and seen[-1] == (extracted.pages, extracted.pages) and len(seen) == extracted.pages
    assert [d for d, _ in seen] == list(range(1, extracted.pages + 1))
    # how long 300 pages take is a figure of `python -m bench.ingest speed`, not an assert here


def _encrypted() -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, encrypt=pdfencrypt.StandardEncryption("secret", canPrint=0))
    canvas.drawString(72, 720, "A brief behind a password.")
    canvas.save()
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_encrypted, "encrypted"),
        (lambda: render_pdf(own_brief())[:4000], "damaged PDF"),
        (lambda: b"", "empty"),
        (lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not a PDF"),
        (lambda: b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n", "PDF"),
    ],
    ids=["encrypted", "truncated", "empty", "renamed PNG", "no pages"],
)
def test_a_bad_pdf_is_one_line_naming_it(make, message: str):
    with pytest.raises(RagbotError, match=message) as caught:
        read(make(), "bad brief.pdf")
    assert "\n" not in str(caught.value) and "bad brief.pdf" in str(caught.value)


def test_pdf_dates_from_metadata_ignore_the_invariant_placeholder():
    assert pdf._pdf_date("D:20240329101500+09'00'") == "2024-03-29"
    assert pdf._pdf_date("D:20000101000000+00'00'") is None and pdf._pdf_date(None) is None
