from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragbot.corpus.blocks import parse_blocks
from ragbot.corpus.folder import load_corpus, load_document
from ragbot.errors import RagbotError

from .conftest import CORPUS


def _alnum(s: str) -> str:
    return re.sub(r"[\W_]", "", s)


@pytest.fixture(scope="module")
def docs():
    return {d.doc_id: d for d in load_corpus(CORPUS)}


def test_loads_all_briefs_with_metadata(docs):
    assert len(docs) == 5
    d = docs["2013-12_rsis_south-korea-defence-diplomacy-east-asia.txt"]
    assert d.title == "South Korea's Defence Diplomacy in East Asia"
    assert d.authors == ("Sarah Teo",)
    assert d.date == "2013-12"
    assert "RSIS" in (d.publisher or "")


def test_every_block_maps_back_to_its_source(docs):
    for d in docs.values():
        for b in d.blocks:
            text, offsets = b.text.text, b.text.offsets
            assert len(text) == len(offsets)
            assert list(offsets) == sorted(offsets), "offsets must run forward through the file"
            # every letter and digit of the normalised text is the same character at its source offset
            for ch, pos in zip(text, offsets, strict=True):
                if ch.isalnum() and b.kind == "paragraph":
                    assert d.raw[pos] == ch, (d.doc_id, text[:60])


def test_hard_wrapped_brief_is_unwrapped_and_page_numbers_dropped(docs):
    d = docs["2019-06_asan_new-southern-policy-peace-cooperation.txt"]
    paragraphs = [b.text.text for b in d.blocks if b.kind == "paragraph"]
    assert not any(re.fullmatch(r"-\d+-", p) for p in paragraphs)
    assert any("to implement the NSP and to coordinate" in p for p in paragraphs), "a page break mid-sentence is joined"
    assert not any("\n" in p for p in paragraphs)
    headings = [b.text.text for b in d.blocks if b.kind == "heading"]
    assert "1. Introduction" in headings and "3-1. Review of Korean Policy Towards ASEAN" in headings
    # footnote numbers glued to sentences are removed: "... meetings. 1 He noted" -> "meetings. He noted"
    assert any("(EAS) meetings. He noted" in p for p in paragraphs)


def test_markdown_markup_footnotes_and_html_lists_become_text(docs):
    admm = docs["2024-03_asan_korea-asean-defence-cooperation-admm.txt"]
    text = " ".join(b.text.text for b in admm.blocks)
    assert "<sup>" not in text and "**" not in text
    assert "under the purview of the ADMM." in text
    notes = [b for b in admm.blocks if b.text.text.startswith("[3] In 2014 and 2015")]
    assert notes, "footnote list kept, numbered"
    rsis = docs["2013-12_rsis_south-korea-defence-diplomacy-east-asia.txt"]
    table = next(b.text.text for b in rsis.blocks if "Tokyo Defense Forum" in b.text.text)
    assert "<li>" not in table and "ASEAN Regional Forum (ARF); Tokyo Defense Forum (TDF)" in table
    assert "S. RAJARATNAM SCHOOL OF INTERNATIONAL STUDIES" in " ".join(b.text.text for b in rsis.blocks)


def test_parse_blocks_on_inline_samples():
    raw = "# Title\n\nSome **bold** text with a [link](http://x.y/z) and a note.<sup>2</sup>\n\n## Part A\n- ❖ item one\n- ❖ item two\n"
    blocks = parse_blocks(raw)
    assert [(b.kind, b.text.text) for b in blocks] == [
        ("heading", "Title"),
        ("paragraph", "Some bold text with a link and a note."),
        ("heading", "Part A"),
        ("paragraph", "item one"),
        ("paragraph", "item two"),
    ]


def test_metadata_fallbacks_without_sources_json(tmp_path: Path):
    path = tmp_path / "2021-05_my-own-brief.md"
    path.write_text("# A Brief of My Own\n\nIt says something useful.\n", encoding="utf-8")
    d = load_document(path)
    assert d.title == "A Brief of My Own"
    assert d.date == "2021-05"
    assert d.authors == ()
    plain = tmp_path / "notes_on_trade.txt"
    plain.write_text("no heading here, just text.\n", encoding="utf-8")
    assert load_document(plain).title == "Notes on trade"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "does not exist"),
        (lambda d: d.mkdir(), "has no documents"),
        (lambda d: (d.mkdir(), (d / "a.txt").write_bytes("caf\xe9 latin-1".encode("latin-1"))), "not UTF-8"),
        (lambda d: (d.mkdir(), (d / "b.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")), "binary"),
        (lambda d: (d.mkdir(), (d / "c.txt").write_text("ok text.\n"), (d / "sources.json").write_text("{oops")), "not valid JSON"),
    ],
)
def test_bad_corpus_folders_give_one_clear_error(tmp_path: Path, setup, message):
    folder = tmp_path / "corpus"
    setup(folder)
    with pytest.raises(RagbotError, match=message):
        load_corpus(folder)


def test_sources_json_is_shipped_for_every_brief():
    entries = json.loads((CORPUS / "sources.json").read_text(encoding="utf-8"))
    assert {e["file"] for e in entries} == {p.name for p in CORPUS.glob("*.txt")}


def test_a_folder_of_other_formats_is_a_corpus(tmp_path: Path):
    """.pdf, .docx, .html, .htm and .pptx files are documents too; other files are not."""
    from ragbot.corpus.folder import corpus_files

    for name in ("a.pdf", "b.docx", "c.html", "d.htm", "e.pptx", "f.md", "g.txt", "h.png", "i.doc", ".hidden.pdf"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.pdf", "b.docx", "c.html", "d.htm", "e.pptx", "f.md", "g.txt"]
