"""Passage records and token-aware, structure-aware splitting: sections, then paragraphs, then sentences."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ragbot.corpus.blocks import Block, TrackedText
from ragbot.corpus.folder import Document

TokenCounter = Callable[[str], int]

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "no", "vol", "vs", "etc", "e.g", "i.e", "jr", "sr", "inc",
    "co", "ltd", "gen", "lt", "col", "adm", "rep", "sen", "gov", "jan", "feb", "mar", "apr", "aug",
    "sep", "sept", "oct", "nov", "dec", "p", "pp", "cf", "al", "fig", "approx", "dept", "est",
}  # fmt: skip
_SENTENCE_BREAK = re.compile(r"[.!?][\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Passage:
    """A retrievable unit of text with the way back to its source file."""

    passage_id: str
    doc_id: str
    title: str
    section: str | None
    start: int  # character offsets into the source file's text
    end: int
    n_tokens: int
    text: str
    sentences: tuple[tuple[int, int], ...] = field(default=())  # spans within text

    def sentence_texts(self) -> list[str]:
        return [self.text[s:e] for s, e in self.sentences]

    def embedding_text(self, with_title: bool) -> str:
        """What the embedder sees: the passage, optionally headed by its document and section."""
        if not with_title:
            return self.text
        head = self.title if not self.section or self.section == self.title else f"{self.title} — {self.section}"
        return f"{head}\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Passage:
        return cls(**{**d, "sentences": tuple(tuple(s) for s in d.get("sentences", ()))})


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a paragraph; keeps abbreviations such as "U.S." and "Dr." inside sentences."""
    spans, start = [], 0
    for m in _SENTENCE_BREAK.finditer(text):
        word = text[start : m.start() + 1].rsplit(None, 1)[-1].rstrip(".").lower() if text[start : m.start() + 1].strip() else ""
        word = word.lstrip("(\"“‘'")
        if text[m.start()] == "." and (word in _ABBREVIATIONS or len(word) == 1 or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word)):
            continue
        end = m.start() + len(m.group(0).rstrip())
        if text[start:end].strip():
            spans.append((start, end))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


@dataclass
class _Unit:
    """A sentence (or a piece of an over-long one) with its source offsets."""

    text: str
    start: int
    end: int
    n_tokens: int
    para: int  # paragraph number within the section


def _units(blocks: list[Block], count: TokenCounter, max_tokens: int) -> Iterator[tuple[str | None, list[_Unit]]]:
    """Yield (section, sentence units) per section."""
    section: str | None = None
    units: list[_Unit] = []
    para = 0
    for block in blocks:
        if block.kind == "heading":
            if units:
                yield section, units
            section, units, para = block.text.text, [], 0
            continue
        para += 1
        for s, e in split_sentences(block.text.text):
            units.extend(_pieces(block.text, s, e, count, max_tokens, para))
    if units:
        yield section, units


def _pieces(text: TrackedText, s: int, e: int, count: TokenCounter, max_tokens: int, para: int) -> list[_Unit]:
    """One unit per sentence; a sentence over the limit is cut at word boundaries."""
    sentence = text.text[s:e]
    n = count(sentence)
    if n <= max_tokens:
        return [_Unit(sentence, *text.span(s, e), n, para)]
    pieces, words = [], [(m.start() + s, m.end() + s) for m in re.finditer(r"\S+", sentence)]
    i = 0
    while i < len(words):
        j = i + 1
        while j < len(words) and count(text.text[words[i][0] : words[j][1]]) <= max_tokens:
            j += 1
        a, b = words[i][0], words[j - 1][1]
        pieces.append(_Unit(text.text[a:b], *text.span(a, b), count(text.text[a:b]), para))
        i = j
    return pieces


def chunk_document(doc: Document, count: TokenCounter, max_tokens: int, overlap: int) -> list[Passage]:
    """Pack a document's sentences into passages of at most max_tokens, never across sections.

    A passage prefers to end at a paragraph end once it is half full; within a paragraph,
    consecutive passages share up to ``overlap`` tokens of whole sentences.
    """
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for section, units in _units(list(doc.blocks), count, max_tokens):
        current: list[_Unit] = []

        def size(group: list[_Unit]) -> int:
            return sum(u.n_tokens for u in group) + len(group)

        for unit in units:
            new_para = bool(current) and unit.para != current[-1].para
            if current and (size([*current, unit]) > max_tokens or (new_para and size(current) >= max_tokens // 2)):
                passages.append(_passage(doc, section, current, count, seen))
                tail: list[_Unit] = []
                if not new_para and overlap:
                    for u in reversed(current):
                        if size([u, *tail]) > overlap or size([u, *tail, unit]) > max_tokens:
                            break
                        tail.insert(0, u)
                current = tail if len(tail) < len(current) else []
            current.append(unit)
        if current:
            passages.append(_passage(doc, section, current, count, seen))
    return passages


def _passage(doc: Document, section: str | None, units: list[_Unit], count: TokenCounter, seen: dict[str, int]) -> Passage:
    text, spans = "", []
    for i, u in enumerate(units):
        if i:
            text += "\n" if u.para != units[i - 1].para else " "
        spans.append((len(text), len(text) + len(u.text)))
        text += u.text
    digest = hashlib.sha1(f"{section}\n{text}".encode()).hexdigest()[:10]
    seen[digest] = seen.get(digest, 0) + 1
    suffix = "" if seen[digest] == 1 else f"-{seen[digest]}"
    return Passage(
        passage_id=f"{doc.doc_id}#{digest}{suffix}",
        doc_id=doc.doc_id,
        title=doc.title,
        section=section,
        start=units[0].start,
        end=units[-1].end,
        n_tokens=count(text),
        text=text,
        sentences=tuple(spans),
    )
