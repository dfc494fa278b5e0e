"""Adding and removing briefs: checks, safe file names, PDF text, and the index following the folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ragbot.chain import Pipeline
from ragbot.corpus.edit import add_document, remove_document, safe_filename
from ragbot.corpus.folder import document_text
from ragbot.errors import RagbotError
from ragbot.index.reader import read_manifest
from ragbot.index.writer import build_index
from ragbot.settings import Settings

MB = 1_000_000


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with Helvetica text, with a correct cross-reference table."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/path/Brief (final) v2.md", "Brief-final-v2.md"),
        ("..\\\\windows\\\\evil.txt", "evil.txt"),
        ("....txt", "document.txt"),
        ("ünïcode brief.txt", "unicode-brief.txt"),
    ],
)
def test_upload_names_stay_plain_and_inside_the_folder(tmp_path: Path, name: str, expected: str):
    assert safe_filename(name, Path(name).suffix.lower()) == expected
    doc_id = add_document(tmp_path / "corpus", name, b"A short brief about maritime cooperation.\n", MB)
    assert doc_id == expected and (tmp_path / "corpus" / expected).is_file()
    assert {p.name for p in tmp_path.iterdir()} == {"corpus"}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("tool.exe", b"MZ\x90\x00", "only .txt, .md, .pdf"),
        ("scan.png.pdf", b"\x89PNG\r\n\x1a\n\x00\x00", "not a PDF"),
        ("renamed.docx", b"%PDF-1.4 this is a PDF called .docx", "its bytes say it is pdf"),
        ("big.txt", b"x" * (MB + 1), "the limit is 1 MB"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("latin.md", "café".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"   \n\n", "no text"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "damaged PDF"),
        ("empty.pdf", b"", "is empty"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_written(tmp_path: Path, name: str, data: bytes, message: str):
    folder = tmp_path / "corpus"
    folder.mkdir()
    with pytest.raises(RagbotError, match=message):
        add_document(folder, name, data, MB)
    assert list(folder.iterdir()) == []


def test_a_pdf_is_added_as_it_is_and_read_as_text(tmp_path: Path):
    pdf = make_pdf(["Coast guard training brief", "Korea and Vietnam agreed on joint coast guard drills in 2026."])
    doc_id = add_document(tmp_path, "Coast Guard.pdf", pdf, MB)
    assert doc_id == "Coast-Guard.pdf" and (tmp_path / doc_id).read_bytes() == pdf
    assert "joint coast guard drills in 2026" in document_text(tmp_path / doc_id).text


def test_same_name_twice_and_removal_rules(tmp_path: Path):
    add_document(tmp_path, "a.md", b"Some text here.\n", MB)
    with pytest.raises(RagbotError, match="already in the library"):
        add_document(tmp_path, "a.md", b"Other text.\n", MB)
    for bad in ("../a.md", "missing.md", "sources.json"):
        with pytest.raises(RagbotError, match="not a document of the library"):
            remove_document(tmp_path, bad)
    remove_document(tmp_path, "a.md")
    assert not (tmp_path / "a.md").exists()


def test_the_index_follows_added_and_removed_briefs(small_corpus: Path, tmp_path: Path, embedder):
    settings = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    build_index(settings, embedder, progress=False, log=lambda _m: None)
    pdf = make_pdf(["Coast guard training brief", "Korea and Vietnam agreed on joint coast guard drills in 2026."])
    doc_id = add_document(small_corpus, "coast-guard.pdf", pdf, MB)
    pipeline = Pipeline.build(settings, log=lambda _m: None)
    answer = pipeline.ask("When did Korea and Vietnam agree on joint coast guard drills?")
    assert not answer.abstained and answer.citations[0].passage.doc_id == doc_id and "2026" in answer.text
    remove_document(small_corpus, doc_id)
    pipeline = Pipeline.build(settings, log=lambda _m: None)
    assert doc_id not in pipeline.index.documents
    assert all(h.passage.doc_id != doc_id for h in pipeline.ask("joint coast guard drills with Vietnam").retrieved)


# --- a folder of documents as users have them; the index and its folder --------------------------------


def _mixed_folder(folder: Path) -> Path:
    """Two briefs as a PDF and a web page, and four files that cannot be read."""
    from .readers.conftest import own_brief, shipped_brief
    from .readers.render import render_html, render_pdf

    folder.mkdir(parents=True)
    (folder / "pilots.pdf").write_bytes(render_pdf(own_brief()))
    (folder / "2025-07_fulcrum.html").write_bytes(render_html(shipped_brief("2025-07_fulcrum_asean-rok-security-dual-contingency.txt")))
    (folder / "empty.docx").write_bytes(b"")
    (folder / "damaged.pdf").write_bytes(render_pdf(own_brief())[:3000])
    (folder / "photo.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (folder / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    return folder


def test_a_folder_with_bad_files_indexes_the_rest_and_says_one_line_each(tmp_path: Path, embedder):
    settings = Settings(corpus_dir=_mixed_folder(tmp_path / "docs"), index_dir=tmp_path / "index")
    said: list[str] = []
    index, _ = build_index(settings, embedder, progress=False, log=said.append)
    docs = index.documents
    assert docs["pilots.pdf"]["n_passages"] > 0 and docs["2025-07_fulcrum.html"]["n_passages"] > 0
    assert docs["pilots.pdf"]["title"] == "Harbour Pilots and the Quiet Work of Maritime Safety"
    bad = {"empty.docx", "damaged.pdf", "photo.pdf", "latin.txt"}
    assert {d for d, meta in docs.items() if meta.get("error")} == bad and all(docs[d]["n_passages"] == 0 for d in bad)
    skipped = [line for line in said if line.startswith("skipped")]
    assert len(skipped) == 4 and all("\n" not in line for line in skipped)
    assert all(any(name in line for line in skipped) for name in bad)
    # nothing changed: nothing is read or built again; a fixed file is read at the next build
    again: list[str] = []
    build_index(settings, embedder, progress=False, log=again.append)
    assert not [line for line in again if line.startswith(("skipped", "indexing"))]
    (settings.corpus_dir / "latin.txt").write_text("A brief about reef surveys in Palawan.\n", encoding="utf-8")
    index, changes = build_index(settings, embedder, progress=False, log=lambda _m: None)
    assert changes.modified == ["latin.txt"] and index.documents["latin.txt"]["n_passages"] == 1
    pipeline = Pipeline(settings, index, embedder)
    answer = pipeline.ask("What share of large vessels do harbour pilots guide into the busiest ports?")
    assert answer.citations and answer.citations[0].passage.doc_id == "pilots.pdf"
    cited = answer.citations[0].passage
    from ragbot.library import library_text

    source = library_text(settings, cited.doc_id)[cited.start : cited.end]  # offsets into the extracted text, as into a .txt
    assert re.sub(r"<sup>\d+</sup>", "", source) == cited.text


def test_an_index_is_never_rebuilt_from_another_folder(small_corpus: Path, tmp_path: Path, embedder):
    from ragbot.library import COMMAND_LINE, CONFIG, corpus_for

    index_dir = tmp_path / "index"
    built, _ = build_index(Settings(corpus_dir=small_corpus, index_dir=index_dir), embedder, progress=False, log=lambda _m: None)
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.md").write_text("# A note\n\nSomething else entirely.\n", encoding="utf-8")
    elsewhere = Settings(corpus_dir=other, index_dir=index_dir)
    with pytest.raises(RagbotError, match=f"was built from {small_corpus}/, not {other}/"):
        build_index(elsewhere, embedder, progress=False, log=lambda _m: None)
    assert read_manifest(index_dir)["build"] == built.manifest["build"]
    # corpus_dir from ragbot.toml, the index named on the command line: the index's own folder is used
    assert corpus_for(elsewhere, lambda: read_manifest(index_dir), CONFIG, COMMAND_LINE).corpus_dir == small_corpus.resolve()
    assert (
        corpus_for(elsewhere, lambda: read_manifest(index_dir), COMMAND_LINE, COMMAND_LINE).corpus_dir == other
    )  # both named: the mismatch is an error
    # the library moved with its index: the same files elsewhere are the same library
    moved = tmp_path / "moved"
    shutil.copytree(small_corpus, moved)
    (moved / "new.md").write_text("# New\n\nA new brief about coast guards.\n", encoding="utf-8")
    index, changes = build_index(Settings(corpus_dir=moved, index_dir=index_dir), embedder, progress=False, log=lambda _m: None)
    assert changes.added == ["new.md"] and read_manifest(index_dir)["corpus_dir"] == str(moved.resolve())
    # copied with its index, then edited (a brief removed): still the same library
    copied = tmp_path / "copied"
    shutil.copytree(moved, copied)
    (copied / "new.md").unlink()
    index, changes = build_index(Settings(corpus_dir=copied, index_dir=index_dir), embedder, progress=False, log=lambda _m: None)
    assert changes.removed == ["new.md"]
    # --rebuild replaces the library on purpose
    index, _ = build_index(elsewhere, embedder, rebuild=True, progress=False, log=lambda _m: None)
    assert set(index.documents) == {"note.md"}
