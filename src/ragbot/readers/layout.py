"""Printed pages -> text as a person reads it: the layout rules shared by the PDF reader and OCR.

A reader gives, for each page, its text lines with their boxes and font size (``Line``); this module
drops running heads, footers and page numbers (lines repeated across pages in the page margins),
takes footnotes out of the text (small type below the body, after a number), orders lines column by
column, joins lines into paragraphs and hyphenated line breaks into words, and marks headings (larger
or bold lines) with markdown ``#``. The result is the normalised text ``ragbot.corpus.blocks.parse_blocks``
reads: a paragraph a line, blank lines between blocks, footnotes last as ``<sup>n</sup> text``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from ragbot.readers.columns import NOTE_START, furniture, page_gutters, reading_order, split_notes
from ragbot.readers.page import Layout, Line, Page, body_size, shift

_ITEM = re.compile(r"^\s*(?:\(?(?:[ivx]{1,4}|\d{1,2}|[a-h])[.)]|[•▪◦‣∙·-])\s")
_SENTENCE_END = (".", "!", "?", ":", '"', "”", "’", ")")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_TRAILING_WORD = re.compile(r"([^\W\d_]+)$")
_LEADING_WORD = re.compile(r"^([^\W\d_]+)")
# Endings of English words that a syllable break leaves on the next line ("sustain-able"): never the second word of a compound
_SUFFIXES = (
    "able", "ible", "ment", "ments", "tion", "tions", "sion", "ship", "ness", "ing", "ings", "ance", "ence", "ally", "ity",
    "ities", "ism", "ist", "ists", "ive", "ous", "ful", "less", "ward", "wards", "ized", "ised", "ize", "ise", "ation", "ations",
)  # fmt: skip

__all__ = ["Layout", "Line", "Page", "join_lines", "lay_out", "shift"]


@dataclass
class _Para:
    kind: str  # "heading" | "paragraph" | "row"
    lines: list[Line]
    style: tuple[float, bool]


def _is_heading_style(line: Line, size: float) -> bool:
    return line.size >= (1.4 if line.estimated else 1.15) * size or (line.bold and line.size >= 0.95 * size)


def _vocabulary(pages: Sequence[Page]) -> Counter[str]:
    words: Counter[str] = Counter()
    for page in pages:
        for line in page.lines:
            found = _WORD.findall(line.text)
            if line.hyphen and found:
                found = found[:-1]  # the broken word's first half
            words.update(w.lower() for w in found[1:] if w)  # the first word may be a broken word's second half
    return words


def join_lines(a: str, b: str, hyphen: bool, vocab: Counter[str]) -> str:
    """Two lines of one paragraph as one: a word broken by a hyphen is joined (or kept hyphenated when it is written so)."""
    if not a:
        return b
    if not b:
        return a
    if hyphen and b.startswith("-"):
        return a + b  # the hyphen repeated at the start of the next line ("high-" / "-tech")
    if hyphen:
        left, right = _TRAILING_WORD.search(a), _LEADING_WORD.match(b)
        if left and right:
            lw, rw = left.group(1), right.group(1)
            whole, dashed = (lw + rw).lower(), f"{lw}-{rw}".lower()
            if vocab[dashed] or vocab[whole]:
                keep = vocab[dashed] > vocab[whole]
            else:  # neither form is written elsewhere: a compound of two words keeps its hyphen, a syllable break does not
                keep = (
                    rw[0].isupper()
                    or lw.isupper()
                    or (vocab[lw.lower()] > 0 and vocab[rw.lower()] > 0 and len(rw) >= 4 and not rw.lower().endswith(_SUFFIXES))
                )
            return f"{a}-{b}" if keep else a + b
        return f"{a}-{b}"
    if a.endswith(("—", "–", "/")) and not a.endswith((" —", " –")):
        return a + b
    return f"{a} {b}"


def lay_out(pages: Sequence[Page], title: str | None = None) -> Layout:
    """The pages' text in reading order as normalised markdown, with what was removed and the footnotes found (title: the metadata's)."""
    size = body_size(pages)
    drop = furniture(pages, title)
    vocab = _vocabulary(pages)
    removed = [pages[p].lines[i].text for p, i in sorted(drop)]
    ordered: list[tuple[int, int, Line, tuple[int, int]]] = []  # (page, column, line, the column's place in any layout)
    note_lines: list[Line] = []
    bodies = []
    for p, page in enumerate(pages):
        kept = [ln for i, ln in enumerate(page.lines) if (p, i) not in drop and ln.text.strip()]
        body, notes = split_notes(kept, size)
        note_lines += notes
        bodies.append(body)
    for p, (body, gutters) in enumerate(zip(bodies, page_gutters(bodies, [pg.width for pg in pages], size), strict=True)):
        columns, placed = reading_order(body, size, gutters)
        ordered += [(p, c, ln, (-p - 1, -1) if c < 0 else (columns, c)) for c, ln in placed]

    pitch = _pitch([ln for _, _, ln, _ in ordered], size)
    edges: dict[tuple[int, int], tuple[float, float]] = {}  # a column's edges over the whole document (a page's full-width lines')
    for _, _, ln, key in ordered:
        x0, x1 = edges.get(key, (ln.x0, ln.x1))
        edges[key] = (min(x0, ln.x0), max(x1, ln.x1))
    paras: list[_Para] = []
    prev: _Placed | None = None
    for p, c, ln, key in ordered:
        cur = _Placed(p, c, ln, *edges[key])
        style = (round(ln.size * 2) / 2, ln.bold)
        kind = "heading" if _is_heading_style(ln, size) else "paragraph"
        if prev is not None and paras and _continues(prev, cur, paras[-1], kind, style, size, pitch):
            paras[-1].lines.append(ln)
        else:
            paras.append(_Para(kind, [ln], style))
        prev = cur

    blocks: list[str] = []
    heading_styles = sorted({pa.style for pa in paras if pa.kind == "heading"}, key=lambda s: (-s[0], not s[1]))
    for pa in paras:
        text = pa.lines[0].text.strip()
        for before, line in zip(pa.lines, pa.lines[1:], strict=False):
            text = join_lines(text, line.text.strip(), before.hyphen, vocab)
        text = re.sub(r"\s+", " ", text).strip()
        if not text:
            continue
        if pa.kind == "heading" and len(text) <= 200 and not re.fullmatch(r"[\W\d_]+", text):
            level = min(heading_styles.index(pa.style) + 1, 6)
            blocks.append(f"{'#' * level} {text}")
        else:
            blocks.append(text)
    notes = _notes(note_lines, vocab)
    blocks += [f"<sup>{n}</sup> {t}" for n, t in notes]
    return Layout("\n\n".join(blocks) + "\n", removed, [t for _, t in notes])


def _pitch(lines: list[Line], size: float) -> float:
    """The usual distance between the tops of two lines of a body paragraph."""
    deltas = [
        round(b.top - a.top, 1)
        for a, b in itertools.pairwise(lines)
        if abs(a.size - size) <= (0.3 if a.estimated else 0.1) * size
        and abs(b.size - size) <= (0.3 if b.estimated else 0.1) * size
        and 0 < b.top - a.top < 3 * size
    ]
    return median(deltas) if deltas else 1.2 * size


@dataclass(frozen=True)
class _Placed:
    page: int
    column: int  # -1: spans the columns
    line: Line
    left: float  # the column's edges (the same column on every page of the same layout)
    right: float


def _continues(prev: _Placed, cur: _Placed, para: _Para, kind: str, style: tuple[float, bool], size: float, pitch: float) -> bool:
    """Whether the line goes on the paragraph (or heading) before it."""
    a, b = prev.line, cur.line
    if kind != para.kind or (kind == "heading" and style != para.style):
        return False
    same_column = prev.page == cur.page and prev.column == cur.column
    if " | " in a.text or " | " in b.text or abs(a.size - b.size) > (0.3 if a.estimated or b.estimated else 0.08) * size:
        return False  # table rows stand alone; so does text in another size
    if kind == "heading":
        return same_column and 0 <= b.top - a.bottom < 0.8 * b.size and len(para.lines) < 4
    if b.x0 > cur.left + 1.2 * size and not a.hyphen and b.x0 > a.x0 + 1.2 * size:
        return False  # an indented first line
    ends = a.text.rstrip().endswith(_SENTENCE_END)
    short = a.x1 < prev.right - 4 * size
    if same_column:
        if b.top - a.top > 1.35 * pitch or b.top < a.top:
            return False  # a gap: a new paragraph
        return not (ends and short)  # a short line ending a sentence ends its paragraph
    if -1 in (prev.column, cur.column) and not a.hyphen:
        return False  # from a full-width line into a column, or back
    # a column or page break: the paragraph goes on after a full line, unless the next starts an item ("(ii) ...")
    return a.hyphen or (not short and not (ends and _ITEM.match(b.text)))


def _notes(lines: list[Line], vocab: Counter[str]) -> list[tuple[str, str]]:
    """Footnote lines -> (number, text); a line without a number goes on the note before it (also across pages)."""
    notes: list[list] = []
    hyphen = False
    for ln in lines:
        m = NOTE_START.match(ln.text)
        if m:
            notes.append([m.group(1) or m.group(2), ln.text[m.end() :].strip()])
        elif notes:
            notes[-1][1] = join_lines(notes[-1][1], ln.text.strip(), hyphen, vocab)
        hyphen = ln.hyphen
    return [(n, re.sub(r"\s+", " ", t).strip()) for n, t in notes if t.strip()]
