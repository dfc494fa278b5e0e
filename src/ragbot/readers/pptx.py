"""PowerPoint (.pptx) -> text with python-pptx (MIT): a section per slide (its title), its text frames, tables as rows, speaker notes."""

from __future__ import annotations

import io
import re
from typing import Any

from ragbot.readers.record import Extracted, clean_title, find_date, split_authors

VERSION = "1"


def library_version() -> str:
    from importlib.metadata import version

    return f"python-pptx-{version('python-pptx')}"


def _shape_blocks(shape: Any) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [b for s in shape.shapes for b in _shape_blocks(s)]
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = []
        for row in shape.table.rows:
            cells = [" ".join(c.text.split()) for c in row.cells]
            if any(cells):
                rows.append(" | ".join(c for c in cells if c))
        return rows
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        out = []
        for para in shape.text_frame.paragraphs:
            text = " ".join("".join(r.text for r in para.runs).split())
            if text:
                out.append(f"- {text}" if para.level > 0 else text)
        return out
    return []


def read(data: bytes, name: str, progress: Any = None) -> Extracted:
    """Each slide as a section headed by its title; its other text, tables and notes as paragraphs."""
    from pptx import Presentation

    deck = Presentation(io.BytesIO(data))
    blocks: list[str] = []
    first_title: str | None = None
    slides = list(deck.slides)
    for n, slide in enumerate(slides, 1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None and title_shape.has_text_frame else ""
        first_title = first_title or title or None
        blocks.append(f"## {title or f'Slide {n}'}")
        for shape in slide.shapes:
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            blocks += _shape_blocks(shape)
        if slide.has_notes_slide:
            notes = " ".join(slide.notes_slide.notes_text_frame.text.split()) if slide.notes_slide.notes_text_frame else ""
            if notes:
                blocks.append(notes)
        if progress:
            progress(n, len(slides))
    text = "\n\n".join(b for b in blocks if b.strip()) + "\n"
    if not re.search(r"^(?!#)\S", text, re.MULTILINE):
        text = ""  # titles only: nothing to index
    props = deck.core_properties
    return Extracted(
        text=text,
        title=clean_title(props.title) or first_title,
        authors=split_authors(props.author),
        date=find_date(text) or (props.created.date().isoformat() if props.created and props.created.year > 1980 else None),
        pages=len(slides),
    )
