"""The record every reader returns, and the metadata helpers they share."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MONTH = f"({'|'.join(_MONTH_NAMES)})"
_DATES = [
    re.compile(r"\b(?P<y>(?:19|20)\d{2})[.\-/](?P<m>1[0-2]|0?[1-9])[.\-/](?P<d>3[01]|[12]\d|0?[1-9])\b"),  # 2024.3.29, 2019-06-21
    re.compile(rf"\b(?P<d>3[01]|[12]\d|0?[1-9])\s+{_MONTH}\s+(?P<y>(?:19|20)\d{{2}})\b", re.IGNORECASE),  # 21 November 2024
    re.compile(rf"\b{_MONTH}\s+(?P<d>3[01]|[12]\d|0?[1-9]),\s+(?P<y>(?:19|20)\d{{2}})\b", re.IGNORECASE),  # November 21, 2024
    re.compile(rf"\b{_MONTH}\s+(?P<y>(?:19|20)\d{{2}})\b", re.IGNORECASE),  # December 2013
]
_GENERATED_TITLE = re.compile(
    r"^(microsoft (word|powerpoint)|untitled|document\d*$|slide \d+$|.*\.(docx?|pptx?|pdf|indd|tmp)$)", re.IGNORECASE
)


@dataclass(frozen=True)
class Extracted:
    """A document's text in the normalised form ``ragbot.corpus.blocks.parse_blocks`` reads, and the metadata the file carries."""

    text: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD
    publisher: str | None = None
    pages: int = 0  # pages (PDF), slides (PPTX); 0 for flowing text
    ocr_pages: int = 0  # pages read by OCR

    def metadata(self) -> dict[str, Any]:
        """The metadata a sources.json entry may override (title, authors, date, publisher), without empty values."""
        meta = {"title": self.title, "authors": list(self.authors), "date": self.date, "publisher": self.publisher}
        return {k: v for k, v in meta.items() if v}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Extracted:
        return cls(**{**d, "authors": tuple(d.get("authors") or ())})


def clean_title(value: str | None) -> str | None:
    """A metadata title, unless it is empty or a file name a program wrote ("Microsoft Word - x.docx")."""
    title = " ".join((value or "").split())
    return title if len(title) >= 4 and not _GENERATED_TITLE.match(title) else None


def split_authors(value: str | None) -> tuple[str, ...]:
    """Authors from one metadata field ("A; B", "A, B and C"); a single "Surname, Given" stays one name."""
    text = " ".join((value or "").split())
    if not text:
        return ()
    parts = re.split(r"\s*;\s*|\s+and\s+|\s*&\s*", text)
    if len(parts) == 1 and text.count(",") >= 2:
        parts = text.split(",")
    return tuple(p.strip() for p in parts if p.strip())


def find_date(text: str, limit: int = 2000) -> str | None:
    """The first date written in a document's opening (its title block), as YYYY-MM-DD or YYYY-MM."""
    head = text[:limit]
    found: list[tuple[int, str]] = []
    for pattern in _DATES:
        m = pattern.search(head)
        if not m:
            continue
        groups = m.groupdict()
        month = groups.get("m") or next(g for g in m.groups() if g and g.lower() in _MONTHS)
        month = _MONTHS.get(month.lower(), 0) if not month.isdigit() else int(month)
        date = f"{groups['y']}-{month:02d}" + (f"-{int(groups['d']):02d}" if groups.get("d") else "")
        found.append((m.start(), date))
    return min(found)[1] if found else None
