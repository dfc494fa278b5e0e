"""Printed pages -> text as a person reads it: the layout rules shared by the PDF reader and OCR.

A reader gives, for each page, its text lines with their boxes and font size (``Line``); this module
drops running heads, footers and page numbers (lines repeated across pages in the page margins),
takes footnotes out of the text (small type below the body, after a number), orders lines column by
column, joins lines into paragraphs and hyphenated line breaks into words, and marks headings (larger
or bold lines) with markdown ``#``. The result is the normalised text ``ragbot.corpus.parse_blocks``
reads: a paragraph a line, blank lines between blocks, footnotes last as ``<sup>n</sup> text``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import median

_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.IGNORECASE)
_ROMAN_PAGE = re.compile(r"^\s*[ivxlc]{1,6}\s*$", re.IGNORECASE)
_ITEM = re.compile(r"^\s*(?:\(?(?:[ivx]{1,4}|\d{1,2}|[a-h])[.)]|[•▪◦‣∙·-])\s")
_NOTE_START = re.compile(r"^\s*(?:<sup>(\d{1,3})</sup>|(\d{1,3})[.)]?(?=\s))\s*")
_SENTENCE_END = (".", "!", "?", ":", '"', "”", "’", ")")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_TRAILING_WORD = re.compile(r"([^\W\d_]+)$")
_LEADING_WORD = re.compile(r"^([^\W\d_]+)")
# Endings of English words that a syllable break leaves on the next line ("sustain-able"): never the second word of a compound
_SUFFIXES = (
    "able", "ible", "ment", "ments", "tion", "tions", "sion", "ship", "ness", "ing", "ings", "ance", "ence", "ally", "ity",
    "ities", "ism", "ist", "ists", "ive", "ous", "ful", "less", "ward", "wards", "ized", "ised", "ize", "ise", "ation", "ations",
)  # fmt: skip
MARGIN_SHARE = 0.12  # running heads and footers sit in the top and bottom 12% of a page


@dataclass(frozen=True)
class Line:
    """One printed line (or a line's piece in one column), in points from the page's top-left corner."""

    text: str  # superscript note marks written as <sup>n</sup>
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # font size (OCR: an estimate from the line's height)
    bold: bool = False
    hyphen: bool = False  # ends with a hyphen that breaks a word across lines (the hyphen is not in text)
    estimated: bool = False  # size guessed from the letters' height (OCR): compared with more tolerance

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    lines: tuple[Line, ...]


@dataclass
class Layout:
    """What the rules found, for tests and measurements."""

    text: str
    removed: list[str]  # running heads, footers and page numbers taken out
    notes: list[str]  # footnotes, in order


def _norm(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.strip().lower()))


def body_size(pages: Sequence[Page]) -> float:
    """The font size most characters are set in (for sizes OCR estimated, the characters' median size)."""
    sizes: Counter[float] = Counter()
    estimated: list[tuple[float, int]] = []
    for page in pages:
        for line in page.lines:
            if line.estimated:
                estimated.append((line.size, len(line.text)))
            else:
                sizes[round(line.size * 2) / 2] += len(line.text)
    if estimated and sum(n for _, n in estimated) > sum(sizes.values()):
        estimated.sort()
        half, seen = sum(n for _, n in estimated) / 2, 0
        for value, n in estimated:
            seen += n
            if seen >= half:
                return value
    return sizes.most_common(1)[0][0] if sizes else 10.0


def furniture(pages: Sequence[Page], title: str | None = None) -> set[tuple[int, int]]:
    """(page, line) of running heads, footers and page numbers: in the margins, repeated at one height across pages, or a number.

    After the first page, a margin line in small type that holds the document's title is a running head too
    (a two-page document repeats it once).
    """
    in_margin: dict[tuple[int, int], str] = {}
    for p, page in enumerate(pages):
        for i, line in enumerate(page.lines):
            if line.bottom <= page.height * MARGIN_SHARE or line.top >= page.height * (1 - MARGIN_SHARE):
                in_margin[(p, i)] = _norm(line.text)
    pages_with: dict[str, set[int]] = {}  # the same text at the same height (within 4 pt) on several pages
    for (p, i), key in in_margin.items():
        pages_with.setdefault(f"{key}@{round(pages[p].lines[i].top / 4)}", set()).add(p)
    repeated = {key for key, where in pages_with.items() if len(where) >= 2 and len(where) >= 0.3 * len(pages)}
    size = body_size(pages)
    named = _norm(title)[:40] if title and len(title) >= 15 else None

    def running_title(where: tuple[int, int], key: str) -> bool:
        return named is not None and where[0] > 0 and named in key and pages[where[0]].lines[where[1]].size <= size

    def outermost(where: tuple[int, int]) -> bool:  # on the page's first or last row: a number there is the page's
        lines, line = pages[where[0]].lines, pages[where[0]].lines[where[1]]
        return line.top <= min(ln.top for ln in lines) + 0.5 * size or line.bottom >= max(ln.bottom for ln in lines) - 0.5 * size

    return {
        where
        for where, key in in_margin.items()
        if f"{key}@{round(pages[where[0]].lines[where[1]].top / 4)}" in repeated
        or ((_PAGE_NUMBER.match(key.replace("#", "1")) or _ROMAN_PAGE.match(pages[where[0]].lines[where[1]].text)) and outermost(where))
        or running_title(where, key)
    }


def _split_notes(lines: list[Line], size: float) -> tuple[list[Line], list[Line]]:
    """(body, notes): notes are small-type lines below the page's last body-size line, the first starting with a number."""
    body_like = [ln for ln in lines if ln.size >= 0.9 * size]
    if not body_like:
        return lines, []
    floor = max(ln.bottom for ln in body_like)
    below = sorted((ln for ln in lines if ln.top >= floor - 1 and ln.size < 0.9 * size), key=lambda ln: (ln.top, ln.x0))
    if not below or not _NOTE_START.match(below[0].text):
        return lines, []
    notes = set(map(id, below))
    return [ln for ln in lines if id(ln) not in notes], below


def _gutters(lines: list[Line], size: float, page_width: float) -> list[float]:
    """x positions between text columns: vertical runs of white space with columns of text on both sides.

    Lines wider than 60% of the page are full-width (a title, a wide table) and may cross a gutter; of
    the others at most 10% (or 6) may: the short centred lines of a title block. One side at least must
    hold prose (lines of 8 font sizes or more) level with the other side's lines, so the columns of a
    small table beside nothing but more table are read as its rows,
    and the two sides must sit side by side (three lines at least with a line at the same height across).
    """
    if len(lines) < 6:
        return []
    left_edge, right_edge = min(ln.x0 for ln in lines), max(ln.x1 for ln in lines)
    narrow = [ln for ln in lines if ln.width <= 0.6 * page_width and ln.size >= 0.8 * size]
    if len(narrow) < 6:
        return []
    origin, n = int(left_edge), int(right_edge - left_edge) + 2
    cover = [0] * (n + 1)
    for ln in narrow:
        cover[int(ln.x0) - origin] += 1
        cover[min(int(ln.x1) - origin + 1, n)] -= 1
    allowed = max(6, int(0.1 * len(narrow)))
    depth = []
    count = 0
    for x in range(n):
        count += cover[x]
        depth.append(count)
    runs: list[tuple[int, int]] = []  # stretches of equal, low coverage, in page coordinates
    x = 0
    while x < n:
        y = x
        while y < n and depth[y] == depth[x]:
            y += 1
        if depth[x] <= allowed and x > 0 and y < n:
            runs.append((x + origin, y + origin))
        x = y
    best: tuple[int, float] | None = None
    for a, b in runs:
        if b - a < 0.8 * size or a <= left_edge + 1:
            continue
        left = [ln for ln in narrow if ln.x1 <= a + 1]
        right = [ln for ln in narrow if ln.x0 >= b - 1]
        prose = _prose_within(left, right, size) >= 3 or _prose_within(right, left, size) >= 3
        beside = sum(any(r.top < lt.bottom and lt.top < r.bottom for lt in left) for r in right)
        if len(left) >= 3 and len(right) >= 3 and prose and beside >= 3 and (best is None or min(len(left), len(right)) > best[0]):
            best = (min(len(left), len(right)), (a + b) / 2)
    if best is None:
        return []
    gap = best[1]
    left_side, right_side = [ln for ln in lines if ln.x1 <= gap], [ln for ln in lines if ln.x0 >= gap]
    return sorted([*_gutters(left_side, size, page_width), gap, *_gutters(right_side, size, page_width)])


def _prose_within(side: list[Line], other: list[Line], size: float) -> int:
    """Lines of prose (8 font sizes wide or more) on one side of a gap, level with the other side's lines."""
    if not other:
        return 0
    top, bottom = min(ln.top for ln in other), max(ln.bottom for ln in other)
    return sum(ln.width >= 8 * size and ln.bottom > top and ln.top < bottom for ln in side)


def _fits(gutters: list[float], lines: list[Line], size: float, page_width: float) -> bool:
    """Whether the document's usual gutters hold on a page too sparse to show them (a last page with two lines in a column)."""
    narrow = [ln for ln in lines if ln.width <= 0.6 * page_width and ln.size >= 0.8 * size]
    for gap in gutters:
        crossing = sum(ln.x0 < gap < ln.x1 for ln in narrow)
        if crossing > max(1, 0.1 * len(narrow)) or not any(ln.x1 <= gap for ln in narrow) or not any(ln.x0 >= gap for ln in narrow):
            return False
    return bool(gutters)


def page_gutters(pages: Sequence[list[Line]], widths: Sequence[float], size: float) -> list[list[float]]:
    """Each page's gutters; a page that shows none takes the document's usual ones when its lines allow them."""
    found = [_gutters(lines, size, width) for lines, width in zip(pages, widths, strict=True)]
    usual = Counter(tuple(round(g / 2) * 2 for g in gs) for gs in found if gs).most_common(1)
    if usual:
        typical = list(usual[0][0])
        found = [gs or (typical if _fits(typical, lines, size, w) else []) for gs, lines, w in zip(found, pages, widths, strict=True)]
    return found


def reading_order(lines: list[Line], size: float, gutters: list[float]) -> tuple[int, list[tuple[int, Line]]]:
    """(columns, [(column, line)]) in reading order: bands between full-width lines (column -1), each read column by column."""
    if not gutters:
        return 1, [(0, ln) for ln in merge_rows(lines, size)]
    edges = [float("-inf"), *gutters, float("inf")]

    def column(ln: Line) -> int | None:
        for c in range(len(edges) - 1):
            if ln.x0 >= edges[c] - 1 and ln.x1 <= edges[c + 1] + 1:
                return c
        return None  # crosses a gutter: spans the columns

    out: list[tuple[int, Line]] = []
    band: list[tuple[int, Line]] = []

    def flush() -> None:
        for c in sorted({c for c, _ in band}):
            out.extend((c, ln) for ln in merge_rows([ln for cc, ln in band if cc == c], size))
        band.clear()

    for ln in sorted(lines, key=lambda ln: (round(ln.top), ln.x0)):
        c = column(ln)
        if c is None:
            flush()
            out.append((-1, ln))
        else:
            band.append((c, ln))
    flush()
    return len(gutters) + 1, out


def merge_rows(lines: list[Line], size: float) -> list[Line]:
    """Lines of one column, top to bottom, with the pieces of each printed row joined left to right.

    A row's pieces are split where words are far apart (a justified line's wide spaces, a table's
    cells) or where a superscript shifts the baseline; they share the row's vertical middle. A small
    raised number is a note mark (``<sup>n</sup>``). Rows whose pieces line up with the pieces of the
    row above or below are a table's: their cells are joined with " | ".
    """
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: (ln.top + ln.bottom) / 2):
        middle = (ln.top + ln.bottom) / 2
        if rows:
            last = rows[-1]
            ref = max(last, key=lambda x: x.size)
            if abs(middle - (ref.top + ref.bottom) / 2) <= 0.35 * max(ref.size, size) or (
                ln.size < 0.85 * ref.size and ref.top - 0.2 * ref.size <= middle <= ref.bottom
            ):
                last.append(ln)
                continue
        rows.append([ln])
    for row in rows:
        row.sort(key=lambda x: x.x0)
    cells = [_cells(row) for row in rows]
    out = []
    for i, row in enumerate(rows):
        ref = max(row, key=lambda x: (x.size, x.width))
        tabular = len(cells[i]) >= 2 and any(_aligned(cells[i], cells[j]) for j in (i - 1, i + 1) if 0 <= j < len(rows))
        text = ""
        for prev, piece in zip([None, *row], row, strict=False):
            part = piece.text.strip()
            if piece.size < 0.85 * ref.size and re.fullmatch(r"\d{1,3}", part) and piece.top < ref.top + 0.3 * ref.size:
                part = f"<sup>{part}</sup>"
            if prev is None:
                text = part
            elif part.startswith("<sup>"):
                text += part
            else:
                text += (" | " if tabular and piece.x0 - prev.x1 > 0.8 * ref.size else " ") + part
        out.append(
            Line(text, min(x.x0 for x in row), max(x.x1 for x in row), min(x.top for x in row), max(x.bottom for x in row),
                 ref.size, all(x.bold for x in row), row[-1].hyphen, any(x.estimated for x in row))
        )  # fmt: skip
    return out


def _cells(row: list[Line]) -> list[tuple[float, float]]:
    """A row's pieces as (start, end), pieces closer than a space's width apart taken as one."""
    out: list[list[float]] = []
    for piece in row:
        if out and piece.x0 - out[-1][1] < 0.8 * piece.size:
            out[-1][1] = piece.x1
        else:
            out.append([piece.x0, piece.x1])
    return [(a, b) for a, b in out]


def _aligned(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    """Whether two rows' cells line up: a cell after the first starts (or a cell before the last ends) where one of the other's does."""
    if len(b) < 2:
        return False
    starts, ends = [x0 for x0, _ in b[1:]], [x1 for _, x1 in b[:-1]]
    return any(abs(x0 - s) <= 2 for x0, _ in a[1:] for s in starts) or any(abs(x1 - e) <= 2 for _, x1 in a[:-1] for e in ends)


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
        body, notes = _split_notes(kept, size)
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
        m = _NOTE_START.match(ln.text)
        if m:
            notes.append([m.group(1) or m.group(2), ln.text[m.end() :].strip()])
        elif notes:
            notes[-1][1] = join_lines(notes[-1][1], ln.text.strip(), hyphen, vocab)
        hyphen = ln.hyphen
    return [(n, re.sub(r"\s+", " ", t).strip()) for n, t in notes if t.strip()]


def shift(lines: Sequence[Line], dx: float = 0.0, dy: float = 0.0, scale: float = 1.0) -> list[Line]:
    """Lines moved and scaled (OCR boxes in pixels -> points)."""
    return [
        replace(
            ln, x0=ln.x0 * scale + dx, x1=ln.x1 * scale + dx, top=ln.top * scale + dy, bottom=ln.bottom * scale + dy, size=ln.size * scale
        )
        for ln in lines
    ]
