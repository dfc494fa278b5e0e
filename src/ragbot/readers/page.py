"""Printed pages as the readers give them: text lines with their boxes and font sizes (the input of the layout rules)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace


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


def norm(text: str) -> str:
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


def shift(lines: Sequence[Line], dx: float = 0.0, dy: float = 0.0, scale: float = 1.0) -> list[Line]:
    """Lines moved and scaled (OCR boxes in pixels -> points)."""
    return [
        replace(
            ln, x0=ln.x0 * scale + dx, x1=ln.x1 * scale + dx, top=ln.top * scale + dy, bottom=ln.bottom * scale + dy, size=ln.size * scale
        )
        for ln in lines
    ]
