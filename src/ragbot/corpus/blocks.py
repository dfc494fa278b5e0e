"""Text normalised into heading and paragraph blocks whose every character remembers its offset in the source text.

Offsets are positions in the document's text (Python string indices), so ``raw[start:end]`` is the
exact source of a block or passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from statistics import quantiles


@dataclass(frozen=True)
class TrackedText:
    """Text whose every character remembers its offset in the source file."""

    text: str
    offsets: tuple[int, ...]

    @classmethod
    def of(cls, text: str, start: int) -> TrackedText:
        return cls(text, tuple(range(start, start + len(text))))

    def sub(self, pattern: re.Pattern[str], repl: int | str | Callable[[re.Match[str]], str]) -> TrackedText:
        """Replace matches by a kept group (int) or by literal text placed at the match's offset."""
        out: list[str] = []
        pos: list[int] = []
        last = 0
        for m in pattern.finditer(self.text):
            out.append(self.text[last : m.start()])
            pos.extend(self.offsets[last : m.start()])
            if isinstance(repl, int):
                g0, g1 = m.span(repl)
                if g0 >= 0:
                    out.append(self.text[g0:g1])
                    pos.extend(self.offsets[g0:g1])
            else:
                literal = repl(m) if callable(repl) else repl
                out.append(literal)
                anchor = self.offsets[m.start()] if m.start() < len(self.offsets) else (self.offsets[-1] + 1 if self.offsets else 0)
                pos.extend([anchor] * len(literal))
            last = m.end()
        out.append(self.text[last:])
        pos.extend(self.offsets[last:])
        return TrackedText("".join(out), tuple(pos))

    def strip(self) -> TrackedText:
        left = len(self.text) - len(self.text.lstrip())
        right = len(self.text.rstrip())
        return TrackedText(self.text[left:right], self.offsets[left:right])

    def __add__(self, other: TrackedText) -> TrackedText:
        return TrackedText(self.text + other.text, self.offsets + other.offsets)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Source offsets (start, end) covering characters [start, end) of this text."""
        return self.offsets[start], self.offsets[end - 1] + 1


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph of normalised text."""

    kind: str  # "heading" | "paragraph"
    text: TrackedText
    level: int = 0


# --- inline clean-up: each rule keeps a group or writes a literal --------------------------------

_FOOTNOTE_DEF = re.compile(r"^\s*<sup>\s*(\d+)\s*</sup>\s*")
_INLINE_RULES: list[tuple[re.Pattern[str], int | str]] = [
    (re.compile(r"<sup>\s*\d+\s*</sup>"), ""),  # footnote marks
    (re.compile(r"\[([^\]\n]+)\]\((?:[^()\n]|\([^()\n]*\))*\)"), 1),  # [text](url) -> text
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), 1),  # <url> -> url
    (re.compile(r"</li>\s*(?=<li)"), "; "),  # list items inside table cells
    (re.compile(r"</?[a-zA-Z][^<>\n]*>"), " "),  # any other HTML tag
    (re.compile(r"\*\*(.+?)\*\*"), 1),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), 1),  # italic
    (re.compile(r"\\+(?=[_*\[\]()#`\\])"), ""),  # markdown escapes
    (re.compile(r"(?<=[A-Za-z)”’\"]\.)\s?\d{1,2}(?=\s+[A-Z“‘\"(])"), ""),  # plain-text footnote numbers "policy.2 The"
    (re.compile(r"\s+"), " "),  # tabs, runs of spaces, markdown hard breaks
]
_BULLET = re.compile(r"^\s*(?:[-*+•▪◦❖]\s+)+(?:[❖•▪◦]\s*)?")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_NUMBERED_HEADING = re.compile(r"^\s*(\d{1,2}(?:-\d{1,2})*)\.\s+([A-Z][^\n]{1,80})$")
_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*\d{1,4}\s*-|page\s+\d{1,4}(?:\s+of\s+\d+)?)\s*$", re.IGNORECASE)
_SENTENCE_END = tuple('.!?:;"”’)')


def clean_inline(line: TrackedText) -> TrackedText:
    for pattern, repl in _INLINE_RULES:
        line = line.sub(pattern, repl)
    return line.strip()


def _lines(raw: str) -> list[tuple[str, int]]:
    out, start = [], 0
    for line in raw.splitlines(keepends=True):
        out.append((line.rstrip("\r\n"), start))
        start += len(line)
    return out


def _wrap_width(lines: list[str]) -> int | None:
    """The column a hard-wrapped document breaks at, or None when lines are paragraphs."""
    lengths = [len(s) for s in lines if s.strip()]
    if len(lengths) < 20:
        return None
    p90 = quantiles(lengths, n=10)[-1]
    long_share = sum(n >= 0.75 * p90 for n in lengths) / len(lengths)
    return int(p90) if long_share >= 0.5 and p90 <= 140 else None


def parse_blocks(raw: str) -> list[Block]:
    """Split a document into heading and paragraph blocks; joins wrapped lines, drops page numbers."""
    lines = _lines(raw)
    parser = _Parser(_wrap_width([s for s, _ in lines]))
    for text, start in lines:
        parser.line(text, start)
    parser.flush()
    return parser.blocks


class _Parser:
    """parse_blocks' state, line by line: the blocks so far and the paragraph being joined."""

    def __init__(self, width: int | None) -> None:
        self.width = width  # the column a hard-wrapped document breaks at
        self.blocks: list[Block] = []
        self.para: TrackedText | None = None
        self.para_last_line = ""
        self.gap = False  # blank lines or a page number since the paragraph's last line
        self.in_notes = False

    def flush(self) -> None:
        if self.para is not None and self.para.text:
            self.blocks.append(Block("paragraph", clean_inline(self.para)))  # again: markup may span lines
        self.para = None

    def line(self, text: str, start: int) -> None:
        if not text.strip() or _PAGE_NUMBER.match(text):
            self.gap = True
            return
        if self.heading(text, start):
            return
        line = TrackedText.of(text, start)
        footnote = _FOOTNOTE_DEF.match(text)
        if footnote:
            line = self.footnote(footnote, text, start)
        bullet = _BULLET.match(text)
        if bullet:
            self.flush()
            line = TrackedText.of(text[bullet.end() :], start + bullet.end())
        cleaned = clean_inline(line)
        if not cleaned.text:
            return
        if self.para is not None and not footnote and not bullet:
            last = self.para_last_line.rstrip()
            continues = not last.endswith(_SENTENCE_END) and cleaned.text[:1].islower()
            if self.gap and not continues:
                self.flush()
            elif not self.gap and self.width and len(last) < 0.7 * self.width and last.endswith(_SENTENCE_END):
                self.flush()  # a short line ending a sentence ends a paragraph in hard-wrapped text
        self.para = cleaned if self.para is None else self.para + TrackedText(" ", (cleaned.offsets[0],)) + cleaned
        self.para_last_line = text
        self.gap = False
        if bullet or footnote:
            self.flush()

    def heading(self, text: str, start: int) -> bool:
        """A markdown or numbered heading ("3-1. Review ...") becomes its own block; False for any other line."""
        heading = _MD_HEADING.match(text)
        numbered = _NUMBERED_HEADING.match(text) if not heading else None
        if numbered and text.rstrip().endswith((".", ",", ";")):
            numbered = None
        if not heading and not numbered:
            return False
        self.flush()
        if heading:
            level = len(heading.group(1))
            body = TrackedText.of(heading.group(2), start + heading.start(2))
        else:
            level = numbered.group(1).count("-") + 1 if numbered else 1
            body = TrackedText.of(text.strip(), start + len(text) - len(text.lstrip()))
        cleaned = clean_inline(body)
        if cleaned.text:
            self.blocks.append(Block("heading", cleaned, level))
            self.in_notes = False
        self.gap = False
        return True

    def footnote(self, found: re.Match[str], text: str, start: int) -> TrackedText:
        """A footnote's line, "[n] text", under a "Notes" heading opened for the first one."""
        self.flush()
        if not self.in_notes:
            self.blocks.append(Block("heading", TrackedText("Notes", (start,) * 5), 6))
            self.in_notes = True
        number = found.group(1)
        digits = start + found.start(1)
        mark = TrackedText(f"[{number}] ", (digits, *range(digits, digits + len(number)), digits + len(number), digits + len(number)))
        return mark + TrackedText.of(text[found.end() :], start + found.end())
