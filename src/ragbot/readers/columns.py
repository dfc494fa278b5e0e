"""Where a page's text is: running heads, footers and page numbers (furniture), footnotes, columns and table rows."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ragbot.readers.page import Line, Page, body_size, norm

_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.IGNORECASE)
_ROMAN_PAGE = re.compile(r"^\s*[ivxlc]{1,6}\s*$", re.IGNORECASE)
NOTE_START = re.compile(r"^\s*(?:<sup>(\d{1,3})</sup>|(\d{1,3})[.)]?(?=\s))\s*")
MARGIN_SHARE = 0.12  # running heads and footers sit in the top and bottom 12% of a page


def furniture(pages: Sequence[Page], title: str | None = None) -> set[tuple[int, int]]:
    """(page, line) of running heads, footers and page numbers: in the margins, repeated at one height across pages, or a number.

    After the first page, a margin line in small type that holds the document's title is a running head too
    (a two-page document repeats it once).
    """
    in_margin: dict[tuple[int, int], str] = {}
    for p, page in enumerate(pages):
        for i, line in enumerate(page.lines):
            if line.bottom <= page.height * MARGIN_SHARE or line.top >= page.height * (1 - MARGIN_SHARE):
                in_margin[(p, i)] = norm(line.text)
    pages_with: dict[str, set[int]] = {}  # the same text at the same height (within 4 pt) on several pages
    for (p, i), key in in_margin.items():
        pages_with.setdefault(f"{key}@{round(pages[p].lines[i].top / 4)}", set()).add(p)
    repeated = {key for key, where in pages_with.items() if len(where) >= 2 and len(where) >= 0.3 * len(pages)}
    size = body_size(pages)
    named = norm(title)[:40] if title and len(title) >= 15 else None

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


def split_notes(lines: list[Line], size: float) -> tuple[list[Line], list[Line]]:
    """(body, notes): notes are small-type lines below the page's last body-size line, the first starting with a number."""
    body_like = [ln for ln in lines if ln.size >= 0.9 * size]
    if not body_like:
        return lines, []
    floor = max(ln.bottom for ln in body_like)
    below = sorted((ln for ln in lines if ln.top >= floor - 1 and ln.size < 0.9 * size), key=lambda ln: (ln.top, ln.x0))
    if not below or not NOTE_START.match(below[0].text):
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
