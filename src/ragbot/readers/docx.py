"""Word (.docx) -> text with python-docx (MIT): headings by paragraph style, lists, tables as rows, Word's footnotes and endnotes."""

from __future__ import annotations

import io
import re
from typing import Any

from ragbot.readers.record import Extracted, clean_title, find_date, split_authors

VERSION = "1"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_NOTE_PARTS = {"footnotes": f"{_W}footnote", "endnotes": f"{_W}endnote"}


def library_version() -> str:
    from importlib.metadata import version

    return f"python-docx-{version('python-docx')}"


def _text(element: Any, marks: dict[tuple[str, str], str] | None = None) -> str:
    """The visible text under an element: runs, tabs and breaks as spaces; note references and superscript numbers as <sup>n</sup>."""
    out: list[str] = []
    for run in element.iter(f"{_W}r"):
        align = run.find(f"{_W}rPr/{_W}vertAlign")
        superscript = align is not None and align.get(f"{_W}val") == "superscript"
        pieces: list[str] = []
        for el in run:
            tag = el.tag
            if tag == f"{_W}t":
                pieces.append(el.text or "")
            elif tag in (f"{_W}tab", f"{_W}br", f"{_W}cr"):
                pieces.append(" ")
            elif tag in (f"{_W}footnoteReference", f"{_W}endnoteReference") and marks is not None:
                kind = "footnotes" if tag.endswith("footnoteReference") else "endnotes"
                key = (kind, el.get(f"{_W}id") or "")
                marks.setdefault(key, str(len(marks) + 1))
                pieces.append(f"<sup>{marks[key]}</sup>")
        text = "".join(pieces)
        out.append(f"<sup>{text.strip()}</sup>" if superscript and text.strip().isdigit() else text)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _notes(document: Any) -> dict[tuple[str, str], str]:
    """Footnote and endnote texts by (part, id), read from the package's notes parts (python-docx has no API for them)."""
    from lxml import etree

    found: dict[tuple[str, str], str] = {}
    for rel in document.part.rels.values():
        kind = rel.reltype.rsplit("/", 1)[-1]
        if kind not in _NOTE_PARTS or rel.is_external:
            continue
        root = etree.fromstring(rel.target_part.blob)
        for note in root.iter(_NOTE_PARTS[kind]):
            if note.get(f"{_W}type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            found[(kind, note.get(f"{_W}id") or "")] = _text(note)
    return found


def read(data: bytes, name: str, progress: Any = None) -> Extracted:
    """The document's paragraphs and tables in order; footnotes at the end as <sup>n</sup> text."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    marks: dict[tuple[str, str], str] = {}
    blocks: list[str] = []
    first_title: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = _text(item._p, marks)
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            heading = _HEADING.match(style)
            if style == "Title":
                first_title = first_title or text
                blocks.append(f"# {text}")
            elif heading:
                blocks.append(f"{'#' * min(int(heading.group(1)) + 1, 6)} {text}")
            elif style.lower().startswith("list") or (item._p.pPr is not None and item._p.pPr.numPr is not None):
                blocks.append(f"- {text}")
            else:
                blocks.append(text)
        elif isinstance(item, Table):
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = _text(cell._tc, marks)
                    if value and (not cells or cells[-1] != value):  # a merged cell repeats
                        cells.append(value)
                if cells:
                    blocks.append(" | ".join(cells))
    notes = _notes(document)
    blocks += [f"<sup>{n}</sup> {notes[key]}" for key, n in marks.items() if notes.get(key)]
    text = "\n\n".join(blocks) + "\n"
    props = document.core_properties
    created = props.created.date().isoformat() if props.created and props.created.year > 1980 else None
    return Extracted(
        text=text,
        title=clean_title(props.title) or first_title,
        authors=split_authors(props.author),
        date=find_date(text) or created,
    )
