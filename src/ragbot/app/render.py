"""HTML for the page. Every piece of document or user text goes through html.escape."""

from __future__ import annotations

import html
import re
from typing import Any

from ragbot.answer import PENDING, Answer
from ragbot.chunking import Passage

SOURCES_PLACEHOLDER = "<p class='rb-empty'>Cited passages appear here.</p>"
VIEWER_PLACEHOLDER = "<p class='rb-empty'>Choose a source to read it in its brief.</p>"
HIT_ID = "rb-hit"


def highlight(text: str, spans: tuple[tuple[int, int], ...] | list[tuple[int, int]], element_id: str | None = None) -> str:
    """Text as escaped HTML with the spans marked; the first mark gets element_id, to scroll to."""
    out, last = [], 0
    for i, (s, e) in enumerate(sorted(spans)):
        out.append(html.escape(text[last:s]))
        attr = f" id='{element_id}'" if element_id and i == 0 else ""
        out.append(f"<mark{attr}>{html.escape(text[s:e])}</mark>")
        last = e
    out.append(html.escape(text[last:]))
    return "".join(out)


_MARKDOWN_SYNTAX = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character: CommonMark lets each be escaped
_MARKER = re.compile(r"(\[\d+\])")


def as_text(text: str) -> str:
    """Text for a markdown component (the chat) that shows exactly these characters: no HTML, links or images from it."""
    return _MARKDOWN_SYNTAX.sub(r"\\\1", text)


def answer_markdown(answer_text: str) -> str:
    """The answer for the chat: its text shown as text (see as_text), each [n] a link to source card n."""
    return "".join(link_markers(part) if _MARKER.fullmatch(part) else as_text(part) for part in _MARKER.split(answer_text))


def link_markers(answer_text: str) -> str:
    """The answer for the chat (markdown): each [n] becomes a link to source card n."""
    return re.sub(r"\[(\d+)\]", lambda m: f"[[{m.group(1)}]](#rb-source-{m.group(1)})", answer_text)


def _card(
    label: str, p: Passage, spans: tuple[tuple[int, int], ...], meta: dict[str, Any], score: float | None, n: int | None = None
) -> str:
    details = " · ".join(str(x) for x in (meta.get("date"), p.section) if x)
    score_html = f"<details class='rb-score'><summary>score</summary>{score:.3f}</details>" if score is not None else ""
    anchor = f" id='rb-source-{n}'" if n is not None else ""
    return (
        f"<div class='rb-card'{anchor}><h4>{html.escape(label + p.title)}</h4>"
        f"<div class='rb-meta'>{html.escape(details)}</div>{score_html}"
        f"<div class='rb-text'>{highlight(p.text, spans)}</div></div>"
    )


SOURCE_HEADINGS = {
    PENDING: "Closest passages: the model is checking whether they state the answer.",
    "unsure": "Unsure: the closest evidence, not an answer.",
    "abstained": "The briefs don't say. Closest passages:",
}


def render_sources(answer: Answer, documents: dict[str, dict[str, Any]]) -> str:
    """Source cards for an answer, headed by its state when it is not (yet) an answer; the closest passages when it abstains."""
    score = {h.passage.passage_id: h.relevance for h in answer.retrieved}
    cards = []
    if answer.status in SOURCE_HEADINGS:
        cards.append(f"<div class='rb-status' data-status='{answer.status}'><b>{html.escape(SOURCE_HEADINGS[answer.status])}</b></div>")
    if answer.abstained:
        cards += [_card("", h.passage, (), documents.get(h.passage.doc_id, {}), h.relevance) for h in answer.retrieved[:3]]
    else:
        cards += [
            _card(f"[{c.n}] ", c.passage, c.spans, documents.get(c.passage.doc_id, {}), score.get(c.passage.passage_id), c.n)
            for c in answer.citations
        ]
    return "".join(cards)


def render_document(raw: str, meta: dict[str, Any], passage: Passage) -> str:
    """The whole source file, escaped, with the cited passage marked (by its character offsets)."""
    authors = ", ".join(meta.get("authors") or [])
    head = " · ".join(x for x in (authors, meta.get("publisher"), meta.get("date")) if x)
    return (
        f"<div class='rb-doc'><h3>{html.escape(meta.get('title') or passage.title)}</h3>"
        f"<div class='rb-meta'>{html.escape(head)} · {html.escape(passage.doc_id)}</div>"
        f"<div class='rb-doc-text'>{highlight(raw, [(passage.start, passage.end)], HIT_ID)}</div></div>"
    )
