"""Word files: headings by style, superscript note marks and Word's own footnotes, tables as rows, metadata."""

from __future__ import annotations

import io
import re

import pytest

from ragbot.errors import RagbotError
from ragbot.readers.registry import read

from .conftest import SHIPPED, own_brief, shipped_brief
from .quality import KINDS, sentence_defects
from .render import render_docx


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_briefs_as_word_files_read_without_defects(name: str):
    brief = shipped_brief(name)
    found = sentence_defects(read(render_docx(brief), "x.docx").text, brief, [])
    assert {k: found[k] for k in KINDS} == {k: [] for k in KINDS}


def test_headings_table_notes_and_metadata():
    extracted = read(render_docx(own_brief()), "own.docx")
    assert "## Why pilotage matters" in extracted.text.splitlines()
    assert "North | 10 | 120" in extracted.text.splitlines()
    assert "departing one.<sup>1</sup>" in extracted.text
    assert (extracted.title, extracted.authors, extracted.date) == (
        "Harbour Pilots and the Quiet Work of Maritime Safety", ("Marta Oyelaran-Vance",), "2026-02-14")  # fmt: skip


def test_words_own_footnotes_become_note_blocks():
    """A footnote made the way Word makes it (a footnotes part, a reference in the run) ends up last as <sup>n</sup> text."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from lxml import etree

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    document = docx.Document()
    para = document.add_paragraph("Pilots board first.")
    run = etree.SubElement(para._p, f"{{{w}}}r")
    etree.SubElement(run, f"{{{w}}}footnoteReference").set(f"{{{w}}}id", "2")
    para.add_run(" They leave last.")
    notes = (
        f'<w:footnotes xmlns:w="{w}"><w:footnote w:type="separator" w:id="0"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        f'<w:footnote w:id="2"><w:p><w:r><w:t>Annual Review of Pilotage, 2024.</w:t></w:r></w:p></w:footnote></w:footnotes>'
    )
    part = Part(PackURI("/word/footnotes.xml"), "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
                notes.encode(), document.part.package)  # fmt: skip
    document.part.relate_to(part, RT.FOOTNOTES)
    buf = io.BytesIO()
    document.save(buf)
    text = read(buf.getvalue(), "notes.docx").text
    assert re.search(r"Pilots board first\.<sup>1</sup> They leave last\.", text)
    assert text.rstrip().endswith("<sup>1</sup> Annual Review of Pilotage, 2024.")


@pytest.mark.parametrize(
    ("data", "message"), [(b"PK\x03\x04 not really a zip", "not a readable docx"), (b"%PDF-1.4 renamed", "its bytes say it is pdf")]
)
def test_a_bad_word_file_is_one_line(data: bytes, message: str):
    with pytest.raises(RagbotError, match=message):
        read(data, "draft.docx")
