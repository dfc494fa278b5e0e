"""Renderings of a brief as publishers lay them out, made with real generators (test fixtures, never committed).

A brief (a ``.txt``/``.md`` file and its metadata) becomes a PDF with a title block and two justified,
hyphenated columns, a running head, a footer with the site and page number and footnotes at the foot of
the page (reportlab + pyphen); a Word file (python-docx); a web page with navigation, a cookie banner,
related links and a footer around the article; and a scan (the PDF's pages rasterised, with no text layer).
``Rendering.source`` is the text that was typeset, block by block: what a reader should give back.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from ragbot.corpus.blocks import parse_blocks

TABLE = "\u2064"  # marks a table's place while the brief is parsed
NOTE = "\u2063"  # wraps a footnote mark's number inside block text while the brief is parsed
_INLINE_NOTE = re.compile(r"(?<!^)(?<!\n)<sup>\s*(\d+)\s*</sup>")
_NOTE_MARK = re.compile(f"{NOTE}(\\d+){NOTE}")
_NOTE_DEF = re.compile(r"^\[(\d+)\]\s+(.*)$", re.S)


@dataclass
class Brief:
    """What a publisher typesets: the front matter, the body's blocks and the footnotes."""

    title: str
    authors: list[str]
    publisher: str
    date: str  # YYYY-MM or YYYY-MM-DD
    front: list[tuple[str, str]]  # the title block: (kind "title" | "line", text)
    body: list[tuple[str, int, str]]  # (kind "heading" | "paragraph" | "table", level, text with NOTE-wrapped marks; rows "a | b")
    notes: dict[str, str] = field(default_factory=dict)
    site: str = "www.example.org"

    def source(self) -> list[str]:
        """The typeset text, block by block (a table's rows each a block), footnote marks removed (what a reader must give back)."""
        body = [row for kind, _, text in self.body for row in (text.split("\n") if kind == "table" else [_NOTE_MARK.sub("", text)])]
        return [*(t for _, t in self.front), *body, *self.notes.values()]


def brief_from_file(path: Path, meta: dict[str, object]) -> Brief:
    """A shipped brief as a publisher would lay it out: front matter until the prose starts, then the body."""
    raw = _INLINE_NOTE.sub(lambda m: f"{NOTE}{m.group(1)}{NOTE}", path.read_text(encoding="utf-8"))
    tables: list[str] = []

    def table(m: re.Match[str]) -> str:
        rows = [" | ".join(c.strip() for c in line.strip().strip("|").split("|")) for line in m.group(0).strip().splitlines()]
        tables.append("\n".join(r for r in rows if r.replace("|", "").strip(" -:")))
        return f"\n\n{TABLE}{len(tables) - 1}{TABLE}\n\n"

    raw = re.sub(r"(?m)(?:^\|.*\|[ \t]*\n?)+", table, raw)
    blocks = []
    for b in parse_blocks(raw):
        m = re.fullmatch(f"{TABLE}(\\d+){TABLE}", b.text.text)
        blocks.append(("table", 0, tables[int(m.group(1))]) if m else (b.kind, b.level, b.text.text))
    notes: dict[str, str] = {}
    body: list[tuple[str, int, str]] = []
    in_notes = False
    for kind, level, text in blocks:
        if kind == "heading" and level == 6 and text == "Notes":
            in_notes = True
            continue
        definition = _NOTE_DEF.match(text) if in_notes and kind == "paragraph" else None
        if definition:
            notes[definition.group(1)] = definition.group(2)
            continue
        in_notes = in_notes and kind != "heading"
        body.append((kind, level, text))
    # front matter: the blocks before the first long paragraph (and its heading, if any)
    first_prose = next(i for i, (k, _, t) in enumerate(body) if k == "paragraph" and len(t) > 200)
    if first_prose and body[first_prose - 1][0] == "heading":
        first_prose -= 1
    front = [("title" if k == "heading" else "line", t) for k, _, t in body[:first_prose]] or [("title", str(meta.get("title", path.stem)))]
    marked = {m for _, _, t in body for m in _NOTE_MARK.findall(t)}
    notes = {n: t for n, t in notes.items() if n in marked}  # a note nobody marks stays in the text as a paragraph
    body = [b for b in body[first_prose:]]
    authors = meta.get("authors") or []
    return Brief(
        title=str(meta.get("title") or front[0][1]),
        authors=[str(a) for a in authors] if isinstance(authors, list) else [str(authors)],
        publisher=str(meta.get("publisher") or ""),
        date=str(meta.get("date") or ""),
        front=front,
        body=body,
        notes=notes,
    )


# --- PDF -------------------------------------------------------------------------------------------


def _fonts() -> dict[str, str]:
    """Bitstream Vera, shipped inside reportlab (no system fonts needed); names for regular, bold, italic."""
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(reportlab.__file__).parent / "fonts"
    names = {"regular": "Vera", "bold": "VeraBd", "italic": "VeraIt"}
    for name in names.values():
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(folder / f"{name}.ttf")))
    from reportlab.lib.fonts import addMapping

    addMapping("Vera", 0, 0, "Vera")
    addMapping("Vera", 1, 0, "VeraBd")
    addMapping("Vera", 0, 1, "VeraIt")
    addMapping("Vera", 1, 1, "VeraBd")
    return names


def drawable(text: str) -> str:
    """The text without the characters Vera has no glyph for (Hangul in some footnotes), as the PDF will show it."""
    from reportlab.pdfbase import pdfmetrics

    _fonts()
    glyphs = pdfmetrics.getFont("Vera").face.charToGlyph
    return re.sub(r"\s+", " ", "".join(c if ord(c) in glyphs or c in NOTE else " " for c in text)).strip()


def drawable_brief(brief: Brief) -> Brief:
    """The brief as Vera can draw it."""
    return Brief(
        drawable(brief.title),
        [drawable(a) for a in brief.authors],
        drawable(brief.publisher),
        brief.date,
        [(k, drawable(t)) for k, t in brief.front],
        [(k, lv, "\n".join(drawable(r) for r in t.split("\n")) if k == "table" else drawable(t)) for k, lv, t in brief.body],
        {n: drawable(t) for n, t in brief.notes.items()},
        brief.site,
    )


def render_pdf(
    brief: Brief, columns: int = 2, pad_pages: int = 0, indent: bool = False, page_label: str = "{n}", font_size: float = 9.5
) -> bytes:
    """A4, title block, justified hyphenated columns, running head (publisher | title), footer (site | page), footnotes.

    ``indent``: paragraphs marked by a first-line indent instead of space between them; ``page_label``: the
    footer's page number ("{n}", "Page {n}", "- {n} -"); ``pad_pages`` repeats the body that many extra times
    (a long document for speed and progress tests).
    """
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import BaseDocTemplate, Frame, FrameBreak, NextPageTemplate, PageTemplate, Paragraph, Spacer, Table

    fonts = _fonts()
    brief = drawable_brief(brief)
    width, height = A4
    margin, gutter, note_room = 56.0, 18.0, 150.0
    body_style = ParagraphStyle(
        "body", fontName=fonts["regular"], fontSize=font_size, leading=font_size * 1.32, alignment=TA_JUSTIFY,
        spaceAfter=0 if indent else font_size / 2, firstLineIndent=font_size * 1.5 if indent else 0,
        hyphenationLang="en_US", embeddedHyphenation=1, uriWasteReduce=0.3,
    )  # fmt: skip
    cell_style = ParagraphStyle("cell", fontName=fonts["regular"], fontSize=font_size - 1.5, leading=font_size)
    h2 = ParagraphStyle("h2", fontName=fonts["bold"], fontSize=12.5, leading=15, spaceBefore=8, spaceAfter=4)
    h3 = ParagraphStyle("h3", fontName=fonts["bold"], fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=3)
    title_style = ParagraphStyle("title", fontName=fonts["bold"], fontSize=19, leading=23, alignment=TA_CENTER, spaceAfter=10)
    front_style = ParagraphStyle("front", fontName=fonts["regular"], fontSize=10, leading=13, alignment=TA_CENTER, spaceAfter=3)
    note_style = ParagraphStyle("note", fontName=fonts["regular"], fontSize=7, leading=8.6, spaceAfter=2)
    running = f"{brief.publisher} | {brief.title}" if brief.publisher else brief.title
    running = running if len(running) < 110 else running[:107].rsplit(" ", 1)[0] + "…"

    pending: list[str] = []  # footnotes marked on this page, drawn at its foot

    class Doc(BaseDocTemplate):
        def handle_pageEnd(self) -> None:
            _draw_notes(self.canv)
            super().handle_pageEnd()

    def _draw_notes(canvas) -> None:
        y = margin + 22 + note_room - 8
        if pending:
            canvas.setLineWidth(0.4)
            canvas.line(margin, y + 4, margin + 120, y + 4)
        while pending:
            number = pending[0]
            para = Paragraph(f"<super>{number}</super> {escape(brief.notes[number])}", note_style)
            _, h = para.wrap(width - 2 * margin, note_room)
            if y - h < margin + 22:
                break  # the rest go to the next page's foot
            para.drawOn(canvas, margin, y - h)
            y -= h + 2
            pending.pop(0)

    def note_marked(canvas, kind, label) -> None:
        if label not in pending:
            pending.append(label)

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(fonts["italic"], 7.5)
        if doc.page > 1:
            canvas.drawString(margin, height - margin + 14, running)
            canvas.setLineWidth(0.4)
            canvas.line(margin, height - margin + 10, width - margin, height - margin + 10)
        canvas.setFont(fonts["regular"], 7.5)
        canvas.drawString(margin, margin - 6, brief.site)
        canvas.drawRightString(width - margin, margin - 6, page_label.format(n=doc.page))
        canvas.restoreState()

    buf = io.BytesIO()
    doc = Doc(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin,
              title=brief.title, author="; ".join(brief.authors), subject=brief.publisher, creator="ragbot tests (reportlab)",
              invariant=1)  # fmt: skip
    top, bottom = height - margin - 4, margin + 22 + note_room
    col_w = (width - 2 * margin - (columns - 1) * gutter) / columns
    front_h = 150.0

    def column_frames(first_top: float) -> list:
        return [Frame(margin + i * (col_w + gutter), bottom, col_w, first_top - bottom, id=f"c{i}", leftPadding=0, rightPadding=0,
                      topPadding=0, bottomPadding=0) for i in range(columns)]  # fmt: skip

    first = [
        Frame(margin, top - front_h, width - 2 * margin, front_h, id="front", leftPadding=0, rightPadding=0),
        *column_frames(top - front_h - 6),
    ]
    doc.addPageTemplates([PageTemplate("first", first, onPage=decorate), PageTemplate("rest", column_frames(top), onPage=decorate)])

    story: list = [NextPageTemplate("rest")]
    story += [Paragraph(escape(text), title_style if kind == "title" else front_style) for kind, text in brief.front]
    story.append(FrameBreak())
    for _ in range(pad_pages + 1):
        for kind, level, text in brief.body:
            markup = _NOTE_MARK.sub(lambda m: f'<super>{m.group(1)}</super><onDraw name="note" label="{m.group(1)}"/>', escape(text))
            if kind == "heading":
                story.append(Paragraph(markup, h2 if level <= 2 else h3))
            elif kind == "table":
                rows = [[Paragraph(escape(c), cell_style) for c in row.split(" | ")] for row in text.split("\n")]
                grid = Table(rows, hAlign="LEFT", style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, 0), 0.5, "black")])
                story += [Spacer(1, 4), grid, Spacer(1, 6)]
            else:
                story.append(Paragraph(markup, body_style))
        story.append(Spacer(1, 4))

    def canvasmaker(*args, **kwargs):
        from reportlab.pdfgen.canvas import Canvas

        canvas = Canvas(*args, **kwargs)
        canvas.setNamedCB("note", note_marked)
        return canvas

    doc.build(story, canvasmaker=canvasmaker)
    if pending:
        raise RuntimeError(f"footnotes left undrawn: {pending}")
    return buf.getvalue()


# --- the other formats -----------------------------------------------------------------------------


def render_docx(brief: Brief) -> bytes:
    """A Word file: title, front matter, Heading 1/2 sections, paragraphs, notes as a numbered list at the end."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    props = document.core_properties
    props.title, props.author, props.subject = brief.title, "; ".join(brief.authors), brief.publisher
    for kind, text in brief.front:
        document.add_paragraph(text, style="Title" if kind == "title" else None)
    for kind, level, text in brief.body:
        plain = _NOTE_MARK.sub("", text)
        if kind == "heading":
            document.add_heading(plain, level=min(max(level - 1, 1), 3))
        elif kind == "table":
            rows = [row.split(" | ") for row in text.split("\n")]
            grid = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    grid.cell(r, c).text = cell
        else:  # python-docx makes no Word footnotes: marks as superscript numbers, the notes listed at the end
            para = document.add_paragraph()
            for i, piece in enumerate(_NOTE_MARK.split(text)):
                if piece:
                    para.add_run(piece).font.superscript = bool(i % 2)
    if brief.notes:
        document.add_heading("Notes", level=1)
        style = "List Number" if "List Number" in [s.name for s in document.styles if s.type == WD_STYLE_TYPE.PARAGRAPH] else None
        for number, text in brief.notes.items():
            document.add_paragraph(f"[{number}] {text}", style=style)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def render_html(brief: Brief) -> bytes:
    """A web page: site navigation, a cookie banner, the article (h1, h2/h3, p, footnotes), related links, a footer."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(brief.title)} | {escape(brief.publisher or 'Example Institute')}</title>",
        f"<meta name='author' content='{escape('; '.join(brief.authors))}'>",
        f"<meta property='article:published_time' content='{escape(brief.date)}'>",
        "<style>body{font-family:serif}</style><script>window.dataLayer=[];function gtag(){}</script></head><body>",
        "<div class='cookie-banner'>We use cookies to improve your experience. <button>Accept all cookies</button></div>",
        "<header class='site-header'><a href='/'>Example Institute</a><nav><ul><li><a href='/research'>Research</a></li>"
        "<li><a href='/events'>Events</a></li><li><a href='/about'>About us</a></li><li><a href='/subscribe'>Subscribe</a></li>"
        "</ul></nav></header>",
        "<div class='breadcrumb'><a href='/'>Home</a> › <a href='/research'>Research</a> › Policy briefs</div>",
        "<main><article>",
        *[f"<h1>{escape(t)}</h1>" if k == "title" else f"<p class='byline'>{escape(t)}</p>" for k, t in brief.front],
        "<div class='share'>Share this: <a href='#'>Facebook</a> <a href='#'>X</a> <a href='#'>LinkedIn</a></div>",
    ]
    for kind, level, text in brief.body:
        marked = _NOTE_MARK.sub(lambda m: f"<sup><a href='#fn{m.group(1)}'>{m.group(1)}</a></sup>", escape(text))
        tag = f"h{min(max(level, 2), 4)}"
        if kind == "table":
            rows = [row.split(" | ") for row in text.split("\n")]
            head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
            body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            parts.append(f"<{tag}>{marked}</{tag}>" if kind == "heading" else f"<p>{marked}</p>")
    if brief.notes:
        parts.append("<section class='footnotes'><h2>Notes</h2><ol>")
        parts += [f"<li id='fn{n}'>{escape(t)}</li>" for n, t in brief.notes.items()]
        parts.append("</ol></section>")
    parts += [
        "</article>",
        "<aside class='related'><h3>Related research</h3><ul><li><a href='/r/1'>Maritime cooperation in a changing region</a></li>"
        "<li><a href='/r/2'>A decade of dialogue partnerships</a></li></ul></aside>",
        "<form class='newsletter'><label>Get our newsletter</label><input type='email'><button>Sign up</button></form>",
        "</main><footer><p>© 2025 Example Institute. All rights reserved.</p><nav><a href='/privacy'>Privacy policy</a> "
        "<a href='/terms'>Terms of use</a> <a href='/contact'>Contact</a></nav></footer></body></html>",
    ]
    return "\n".join(parts).encode("utf-8")


def render_scan(pdf: bytes, dpi: int = 200) -> bytes:
    """The PDF's pages as images only (no text layer), as a scanner makes them."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    images = [document[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(document))]
    document.close()
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


RENDERERS = {".pdf": render_pdf, ".docx": render_docx, ".html": render_html}


def render_corpus(source: Path, target: Path, suffix: str, sources: dict[str, dict[str, object]] | None = None) -> list[Path]:
    """Every brief of a corpus folder rendered into target as suffix (".pdf", ".docx", ".html" or ".scan.pdf"); no sources.json."""
    import json

    entries = sources if sources is not None else {e["file"]: e for e in json.loads((source / "sources.json").read_text("utf-8"))}
    target.mkdir(parents=True, exist_ok=True)
    made = []
    for path in sorted(source.glob("*.txt")) + sorted(source.glob("*.md")):
        brief = brief_from_file(path, entries.get(path.name, {}))
        site = {"asan": "www.asaninst.org", "rsis": "www.rsis.edu.sg", "fulcrum": "fulcrum.sg"}
        brief.site = next((s for k, s in site.items() if f"_{k}_" in path.name), brief.site)
        if suffix == ".scan.pdf":
            data, out = render_scan(render_pdf(brief)), target / f"{path.stem}.pdf"
        else:
            data, out = RENDERERS[suffix](brief), target / f"{path.stem}{suffix}"
        out.write_bytes(data)
        made.append(out)
    return made


if __name__ == "__main__":  # python -m tests.readers.render SOURCE TARGET SUFFIX
    import sys

    os.environ.setdefault("PYTHONHASHSEED", "0")
    for made in render_corpus(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]):
        print(made)
