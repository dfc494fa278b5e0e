"""OCR of scanned pages with Tesseract (Debian's tesseract-ocr, Apache-2.0) through pytesseract: words -> ``layout`` lines.

Tesseract's words come with their boxes, so a scanned page goes through the same layout rules as a
PDF's text (columns, running heads, footnotes, hyphens). ``available()`` says whether it can run here.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from typing import Any

from ragbot.readers import layout

DPI = 300  # Tesseract reads body text best at 300 dpi
MAX_PAGES = 200  # scanned pages read a document (~5 s a page on 2 cores: a longer scan is refused, not read for an hour)
LANG = os.environ.get("RAGBOT_OCR_LANG", "eng")


@lru_cache(maxsize=1)
def _found() -> bool:
    if os.environ.get("RAGBOT_OCR", "").lower() in ("0", "off", "false", "no"):
        return False
    return shutil.which("tesseract") is not None


def available() -> bool:
    """Tesseract is installed (and not turned off with RAGBOT_OCR=off)."""
    return _found()


def version() -> str:
    """What the OCR fingerprint of a PDF's text includes: installing Tesseract re-reads the scans."""
    return f"tesseract-{LANG}" if available() else "no-ocr"


def image_lines(image: Any, scale: float = 1.0) -> list[layout.Line]:
    """A page image's text lines: Tesseract's words grouped by its (block, paragraph, line), boxes times scale (px -> pt)."""
    import pytesseract

    data = pytesseract.image_to_data(image, lang=LANG, config="--psm 3", output_type=pytesseract.Output.DICT)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(data["text"]):
        if word.strip() and float(data["conf"][i]) >= 0:
            groups.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    lines = []
    for idx in groups.values():
        words = [data["text"][i] for i in idx]
        x0 = min(data["left"][i] for i in idx)
        x1 = max(data["left"][i] + data["width"][i] for i in idx)
        tops = sorted(data["top"][i] for i in idx)
        bottoms = sorted(data["top"][i] + data["height"][i] for i in idx)
        top, bottom = tops[len(tops) // 2], bottoms[len(bottoms) // 2]
        sizes = sorted(_font_size(data["text"][i], data["height"][i]) for i in idx)
        text = " ".join(words)
        hyphen = text.endswith(("-", "\u00ad")) and len(text) > 1 and text[-2].isalpha()
        lines.append(
            layout.Line(text[:-1] if hyphen else text, x0, x1, top, bottom, size=sizes[len(sizes) // 2], hyphen=hyphen, estimated=True)
        )
    return layout.shift(lines, scale=scale)


_ASCENDERS = set("bdfhklt0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ([{/|'\"!?%&$#@")
_DESCENDERS = set("gjpqy([{/|,;")


def _font_size(word: str, height: int) -> float:
    """A word's font size from its box's height: the share of the size its letters reach (x-height, ascenders, descenders)."""
    up, down = any(c in _ASCENDERS for c in word), any(c in _DESCENDERS for c in word)
    return height / (0.95 if up and down else 0.73 if up else 0.75 if down else 0.53)


def pdf_page_lines(page: Any) -> list[layout.Line]:
    """A PDF page without a text layer, rendered and read by OCR, in points."""
    image = page.render(scale=DPI / 72, grayscale=True).to_pil()
    return image_lines(image, scale=72 / DPI)
