"""PowerPoint: a section per slide, its text, tables as rows and the speaker's notes."""

from __future__ import annotations

import io

from ragbot.readers.registry import read


def test_slides_become_sections_with_their_text_tables_and_notes():
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.core_properties.title, deck.core_properties.author = "Pilotage in numbers", "Marta Oyelaran-Vance"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Why pilots matter"
    slide.placeholders[1].text = "Pilots board nine in ten large ships.\nTheir reports led to detentions."
    slide.notes_slide.notes_text_frame.text = "Stress the 212 incidents recorded between 2015 and 2024."
    table_slide = deck.slides.add_slide(deck.slide_layouts[5])
    table_slide.shapes.title.text = "Three regimes"
    grid = table_slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (r, c), value in {(0, 0): "Model", (0, 1): "Years", (1, 0): "North", (1, 1): "10"}.items():
        grid.cell(r, c).text = value
    buf = io.BytesIO()
    deck.save(buf)
    extracted = read(buf.getvalue(), "deck.pptx")
    lines = extracted.text.splitlines()
    assert "## Why pilots matter" in lines and "Pilots board nine in ten large ships." in lines and "North | 10" in lines
    assert "Stress the 212 incidents recorded between 2015 and 2024." in lines and "## Three regimes" in lines
    assert (extracted.title, extracted.authors, extracted.pages) == ("Pilotage in numbers", ("Marta Oyelaran-Vance",), 2)
