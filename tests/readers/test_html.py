"""Web pages: the article without navigation, banners, sharing links, related links or the footer."""

from __future__ import annotations

import pytest

from ragbot.readers.registry import read

from .conftest import SHIPPED, own_brief, shipped_brief
from .quality import KINDS, sentence_defects
from .render import render_html

BOILERPLATE = ("cookies", "Subscribe", "About us", "Share this", "Related research", "newsletter", "All rights reserved", "Home ›")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_briefs_as_web_pages_read_without_defects(name: str):
    brief = shipped_brief(name)
    extracted = read(render_html(brief), "x.html")
    found = sentence_defects(extracted.text, brief, [])
    assert {k: found[k] for k in KINDS} == {k: [] for k in KINDS}
    assert not [b for b in BOILERPLATE if b in extracted.text]


def test_headings_table_notes_and_metadata():
    extracted = read(render_html(own_brief()), "own.html")
    lines = extracted.text.splitlines()
    assert "## Why pilotage matters" in lines and "North | 10 | 120" in lines and "Model | Years | Hours" in lines
    assert "departing one.<sup>1</sup>" in extracted.text
    assert lines[-1].startswith("<sup>3</sup> On pooled simulator centres")
    assert extracted.title == "Harbour Pilots and the Quiet Work of Maritime Safety"
    assert (extracted.authors, extracted.date, extracted.publisher) == (("Marta Oyelaran-Vance",), "2026-02-14", None)


def test_a_page_without_article_markup_keeps_its_main_text():
    page = (
        "<html><head><title>Ports | Site</title></head><body><div class='menu'><a href='/'>Home</a> <a href='/x'>Research</a></div>"
        "<div id='content'><h1>Port calls</h1><p>" + "Korea and Vietnam agreed on port calls in 2026. " * 8 + "</p>"
        "<p>" + "Navies will exchange liaison officers. " * 6 + "</p></div><div class='footer'>Contact us</div></body></html>"
    )
    text = read(page.encode(), "ports.htm").text
    assert text.startswith("# Port calls") and "liaison officers" in text and "Research" not in text and "Contact" not in text
