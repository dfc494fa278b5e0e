"""Web pages -> the article's text with BeautifulSoup (MIT) and lxml: navigation, banners, sidebars and footers left out.

The article is the page's ``<article>`` (or ``<main>``, ``role=main``, or the element holding most of the
paragraph text); inside it, headings become sections, lists and paragraphs blocks, table rows rows, and
a footnote list (class or id "footnote"/"endnote"/"notes") goes last as ``<sup>n</sup> text``.
"""

from __future__ import annotations

import re
from typing import Any

from ragbot.readers.record import Extracted, clean_title, find_date, split_authors

VERSION = "1"
_DROP_TAGS = ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "form", "button", "input", "select", "textarea",
              "nav", "aside", "menu", "dialog", "object", "embed"]  # fmt: skip
_BOILERPLATE = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|cookie|consent|banner|breadcrumbs?|share|sharing|social|related|newsletter|subscribe|signup|"
    r"advert|ads?|promo|sidebar|comments?|skip|masthead|site-header|site-footer|footer|header|toolbar|popup|modal|pagination|tags)($|[\s_-])",
    re.IGNORECASE,
)
_NOTES = re.compile(r"foot-?notes?|end-?notes?|^notes$|references", re.IGNORECASE)
_BLOCKS = {"p", "li", "blockquote", "pre", "figcaption", "dd", "dt", "caption", "address"}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}


def library_version() -> str:
    from importlib.metadata import version

    return f"beautifulsoup4-{version('beautifulsoup4')}-lxml-{version('lxml')}"


def _attrs(tag: Any) -> str:
    return " ".join([str(tag.get("id") or ""), *(tag.get("class") or []), str(tag.get("role") or "")])


def _inline(tag: Any) -> str:
    """An element's text, with <sup>n</sup> note marks kept and everything else as plain text."""
    from bs4 import NavigableString, Tag

    out: list[str] = []
    for node in tag.descendants:
        if isinstance(node, NavigableString):
            if (node.parent is not None and node.parent.name == "sup") or any(p.name == "sup" for p in node.parents if p is not tag):
                continue
            if type(node).__name__ in ("Comment", "Doctype", "Declaration", "ProcessingInstruction", "CData"):
                continue
            out.append(str(node))
        elif isinstance(node, Tag):
            if node.name == "sup":
                mark = node.get_text(" ", strip=True)
                out.append(f"<sup>{mark}</sup>" if mark.isdigit() else mark)
            elif node.name == "br":
                out.append(" ")
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _main(body: Any) -> Any:
    """The element holding the article: <article>, <main>, role=main, or the one with most paragraph text."""

    def text_len(tag: Any) -> int:
        return sum(len(p.get_text(" ", strip=True)) for p in tag.find_all(["p", "li", "h1", "h2", "h3", "h4", "blockquote", "td"]))

    total = text_len(body) or 1
    for finder in (lambda: body.find_all("article"), lambda: body.find_all("main"), lambda: body.find_all(attrs={"role": "main"})):
        found = [t for t in finder() if text_len(t) >= 0.3 * total]
        if found:
            return max(found, key=text_len)
    best, best_len = body, 0
    for tag in body.find_all(["div", "section"]):
        n = sum(len(p.get_text(" ", strip=True)) for p in tag.find_all("p", recursive=False))
        if n > best_len:
            best, best_len = tag, n
    return best if best_len >= 0.5 * total else body


def _holds_content(tag: Any) -> bool:
    """Whether an element with a boilerplate-like name still holds the article (its title, or paragraphs of text)."""
    if tag.find(["article", "main", "h1"]):
        return True
    return sum(len(p.get_text(" ", strip=True)) for p in tag.find_all("p")) >= 400


def _walk(tag: Any, blocks: list[str], notes: list[str]) -> None:
    from bs4 import NavigableString, Tag

    for child in tag.children:
        if isinstance(child, NavigableString):
            text = " ".join(str(child).split())
            if text and type(child).__name__ == "NavigableString" and tag.name not in ("ul", "ol", "table", "tr", "thead", "tbody"):
                blocks.append(text)
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in _HEADINGS:
            text = _inline(child)
            if text:
                blocks.append(f"{'#' * _HEADINGS[name]} {text}")
        elif name in ("ol", "ul", "section", "div", "aside") and _NOTES.search(_attrs(child)) and child.find("li"):
            for n, li in enumerate(child.find_all("li"), 1):
                number = re.sub(r"\D", "", str(li.get("value") or li.get("id") or "")) or str(n)
                text = re.sub(r"^\s*(?:\^|↑)\s*", "", _inline(li))
                text = re.sub(r"\s*(?:↩|↑)\s*$", "", text)
                if text:
                    notes.append(f"<sup>{number}</sup> {text}")
        elif name == "table":
            for row in child.find_all("tr"):
                cells = [_inline(c) for c in row.find_all(["td", "th"])]
                if any(cells):
                    blocks.append(" | ".join(c for c in cells if c))
        elif name == "li":
            text = _inline(child) if not child.find(["ul", "ol", "p", "div"]) else ""
            if text:
                blocks.append(f"- {text}")
            else:
                _walk(child, blocks, notes)
        elif name in _BLOCKS:
            if child.find(["p", "ul", "ol", "table", "div", *list(_HEADINGS)]):
                _walk(child, blocks, notes)
            else:
                text = _inline(child)
                if text:
                    blocks.append(text)
        elif name in ("sup",):
            continue
        else:
            _walk(child, blocks, notes)


def _meta(soup: Any, *keys: str) -> str | None:
    for key in keys:
        tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
        if tag is not None and str(tag.get("content") or "").strip():
            return " ".join(str(tag["content"]).split())
    return None


def read(data: bytes, name: str, progress: Any = None) -> Extracted:
    """The article's text as headings and paragraphs, footnotes last; title, authors, date and site from the page's metadata."""
    from bs4 import BeautifulSoup

    from ragbot.errors import RagbotError

    if b"\x00" in data[:8192]:
        raise RagbotError(f"{name} looks like a binary file, not a web page")
    soup = BeautifulSoup(data, "lxml")
    body = soup.body or soup
    for tag in body.find_all(_DROP_TAGS):
        tag.decompose()
    main = _main(body)
    for tag in list(main.find_all(True)):
        if tag.decomposed or tag.name in ("article", "main", "body"):
            continue
        if _BOILERPLATE.search(_attrs(tag)) and not _NOTES.search(_attrs(tag)) and not _holds_content(tag):
            tag.decompose()
    if main.name in ("body", "html"):
        for tag in main.find_all(["header", "footer"]):
            tag.decompose()
    blocks: list[str] = []
    notes: list[str] = []
    _walk(main, blocks, notes)
    if blocks and re.fullmatch(r"#+ (notes|footnotes|endnotes|references)", blocks[-1], re.IGNORECASE) and notes:
        blocks.pop()
    text = "\n\n".join([*blocks, *notes]) + "\n" if blocks else ""
    h1 = next((b[2:] for b in blocks if b.startswith("# ")), None)
    page_title = _meta(soup, "og:title", "citation_title", "dc.title") or (soup.title.get_text(" ", strip=True) if soup.title else None)
    if page_title and h1 and h1 in page_title:
        page_title = h1
    elif page_title:
        page_title = re.split(r"\s+[|–—-]\s+", page_title)[0]
    date = _meta(soup, "article:published_time", "citation_publication_date", "dc.date", "date", "pubdate")
    time_tag = main.find("time") if not date else None
    date = date or (str(time_tag.get("datetime")) if time_tag is not None and time_tag.get("datetime") else None)
    m = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", date or "")
    return Extracted(
        text=text,
        title=clean_title(page_title) or h1,
        authors=split_authors(_meta(soup, "author", "article:author", "citation_author", "dc.creator")),
        date="-".join(g for g in m.groups() if g) if m else find_date(text),
        publisher=_meta(soup, "og:site_name", "publisher", "citation_publisher", "dc.publisher"),
    )
