"""PDF -> text with pypdfium2 (PDFium: Apache-2.0/BSD-3): every character's box, font size and weight, laid out by ``layout``.

Pages without a text layer (scans) are read by OCR (``ocr``) when Tesseract is installed; without it the
file is refused in one line saying how many pages had no text, so nothing is half-indexed.
docs/measurements/ingest.md compares pypdfium2 with pdfplumber on the same fixtures.
"""

from __future__ import annotations

import ctypes
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from ragbot.errors import RagbotError
from ragbot.readers import layout, ocr
from ragbot.readers.record import Extracted, clean_title, find_date, split_authors

VERSION = "1"
Progress = Callable[[int, int], None]
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_NO_TEXT = 0.3  # a page whose characters are mostly unmapped (no Unicode) is read as a scan


def library_version() -> str:
    from importlib.metadata import version

    return f"pypdfium2-{version('pypdfium2')}"


def _open(data: bytes, name: str) -> Any:
    import pypdfium2 as pdfium

    if not data.strip():
        raise RagbotError(f"{name} is empty")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise RagbotError(f"{name} is encrypted (it needs a password); save a copy without one and add that") from None
        head = data[:1024].lstrip()
        what = "a damaged PDF" if head.startswith(b"%PDF") else "not a PDF (its bytes say otherwise; was it renamed?)"
        raise RagbotError(f"{name} is {what}: PDFium cannot read it") from None


def page_lines(textpage: Any, height: float) -> tuple[list[layout.Line], int, int]:
    """A page's text as lines (pieces split at wide gaps, so columns stay apart); also (characters, unmapped characters)."""
    import pypdfium2.raw as pdfium_c

    tp = textpage.raw
    n = pdfium_c.FPDFText_CountChars(tp)
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    ox, oy = ctypes.c_double(), ctypes.c_double()
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    bold_font: dict[bytes, bool] = {}
    lines: list[layout.Line] = []
    chars: list[tuple[str, float, float, float, float, bool]] = []  # text, x0, x1, baseline, size, bold
    hyphen = False
    unmapped = counted = 0

    def flush() -> None:
        nonlocal chars, hyphen
        if chars:
            line = _line(chars, height, hyphen)
            if line is not None:
                lines.append(line)
        chars, hyphen = [], False

    last_x1 = last_base = last_size = 0.0
    for i in range(n):
        code = pdfium_c.FPDFText_GetUnicode(tp, i)
        if pdfium_c.FPDFText_IsGenerated(tp, i):  # PDFium's own line breaks are ignored: lines come from positions
            if code == 32 and chars and chars[-1][0] != " ":
                chars.append((" ", last_x1, last_x1, last_base, last_size, False))
            continue
        if pdfium_c.FPDFText_IsHyphen(tp, i) or code in (2, 0xFFFE):
            hyphen = True  # PDFium marks a hyphen that ends a line
            flush()
            continue
        counted += 1
        if code in (0, 0xFFFD):
            unmapped += 1
            continue
        if abs(pdfium_c.FPDFText_GetCharAngle(tp, i)) > 0.05 and abs(pdfium_c.FPDFText_GetCharAngle(tp, i) - 6.2832) > 0.05:
            continue  # rotated text: margin notes, watermarks
        ch = chr(code)
        pdfium_c.FPDFText_GetCharBox(tp, i, left, right, bottom, top)
        pdfium_c.FPDFText_GetCharOrigin(tp, i, ox, oy)
        size = pdfium_c.FPDFText_GetFontSize(tp, i)
        bold = _is_bold(tp, i, buf, flags, bold_font)
        if ch.isspace():
            if chars and chars[-1][0] != " ":
                chars.append((" ", left.value, right.value, oy.value, size, False))
            continue
        if chars and _breaks(left.value, oy.value, size, last_x1, last_base, last_size):
            flush()
        chars.append((ch, left.value, right.value, oy.value, size, bold))
        last_x1, last_base, last_size = right.value, oy.value, size
    flush()
    return lines, counted, unmapped


def _breaks(x0: float, base: float, size: float, last_x1: float, last_base: float, last_size: float) -> bool:
    """Whether a character starts a new line piece: another baseline, a wide gap (a column's edge), or a step back."""
    biggest = max(size, last_size)
    return abs(base - last_base) > 0.6 * biggest or x0 - last_x1 > 1.2 * biggest or x0 < last_x1 - 2 * size


def _is_bold(tp: Any, i: int, buf: Any, flags: Any, bold_font: dict[bytes, bool]) -> bool:
    """Whether character i is set in a bold weight (by its weight, else by its font's name)."""
    import pypdfium2.raw as pdfium_c

    weight = pdfium_c.FPDFText_GetFontWeight(tp, i)
    if weight > 0:
        return bool(weight >= 600)
    got = pdfium_c.FPDFText_GetFontInfo(tp, i, buf, 128, ctypes.byref(flags))
    key = buf.raw[: max(got - 1, 0)]
    return bold_font.setdefault(key, bool(_BOLD_NAME.search(key.decode("latin-1"))))


def _line(chars: list[tuple[str, float, float, float, float, bool]], height: float, hyphen: bool) -> layout.Line | None:
    """One piece of a printed line; superscript digits (smaller, raised) become <sup>n</sup>."""
    glyphs = [c for c in chars if c[0] != " "]
    if not glyphs:
        return None
    sizes = Counter(round(c[4], 1) for c in glyphs)
    size = sizes.most_common(1)[0][0]
    base = Counter(round(c[3], 1) for c in glyphs if round(c[4], 1) == size).most_common(1)[0][0]
    out: list[str] = []
    sup: list[str] = []
    for text, _, _, baseline, csize, _ in chars:
        is_sup = text != " " and csize < 0.85 * size and baseline > base + 0.12 * size
        if is_sup and (text.isdigit() or sup):
            sup.append(text)
            continue
        if sup:
            out.append(f"<sup>{''.join(sup)}</sup>" if "".join(sup).isdigit() else "".join(sup))
            sup = []
        out.append(text)
    if sup:
        out.append(f"<sup>{''.join(sup)}</sup>" if "".join(sup).isdigit() else "".join(sup))
    text = "".join(out).strip()
    if text.endswith(("-", "\u00ad")) and len(text) > 1 and text[-2].isalpha():
        text, hyphen = text[:-1], True  # a hyphen PDFium did not mark
    bold_share = sum(c[5] for c in glyphs) / len(glyphs)
    return layout.Line(
        text=text,
        x0=min(c[1] for c in glyphs),
        x1=max(c[2] for c in glyphs),
        top=height - (base + 0.8 * size),
        bottom=height - (base - 0.2 * size),
        size=size,
        bold=bold_share >= 0.8,
        hyphen=hyphen,
    )


def read(data: bytes, name: str, progress: Progress | None = None) -> Extracted:
    """The text of a PDF in reading order, with its metadata; scanned pages through OCR (at most OCR_MAX_PAGES of them)."""
    document = _open(data, name)
    try:
        n = len(document)
        if n == 0:
            raise RagbotError(f"{name} has no pages")
        pages: list[layout.Page] = []
        scanned: list[int] = []
        for i in range(n):
            page = document[i]
            width, height = page.get_size()
            textpage = page.get_textpage()
            lines, counted, unmapped = page_lines(textpage, height)
            textpage.close()
            page.close()
            if not lines or (counted and unmapped / counted > _NO_TEXT):
                scanned.append(i)
            pages.append(layout.Page(width, height, tuple(lines)))
            if progress and not scanned:
                progress(i + 1, n)
        if scanned and not ocr.available():
            raise RagbotError(
                f"{name}: {len(scanned)} of {n} pages have no text layer (scanned) and OCR is not available "
                f"(install Debian's tesseract-ocr); not indexed"
            )
        if len(scanned) > ocr.MAX_PAGES:
            raise RagbotError(f"{name}: {len(scanned)} scanned pages; ragbot reads at most {ocr.MAX_PAGES} by OCR a document (split it)")
        for done, i in enumerate(scanned, 1):  # OCR, a few seconds a page: reported page by page
            page = document[i]
            pages[i] = layout.Page(pages[i].width, pages[i].height, tuple(ocr.pdf_page_lines(page)))
            page.close()
            if progress:
                progress(n - len(scanned) + done, n)
        meta = document.get_metadata_dict(skip_empty=True)
    finally:
        document.close()
    text = layout.lay_out(pages, meta.get("Title")).text
    return Extracted(
        text=text,
        title=clean_title(meta.get("Title")),
        authors=split_authors(meta.get("Author")),
        date=find_date(text) or _pdf_date(meta.get("CreationDate")),  # the title block's date, else when the file was made
        pages=n,
        ocr_pages=len(scanned),
    )


def _pdf_date(value: str | None) -> str | None:
    """A PDF date (D:YYYYMMDD...) as YYYY-MM-DD; the invariant 2000-01-01 some generators write is no date."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?", value or "")
    if not m or m.group(1) in ("0000", "1970") or (m.group(1), m.group(2), m.group(3)) == ("2000", "01", "01"):
        return None
    return "-".join(g for g in m.groups() if g)
