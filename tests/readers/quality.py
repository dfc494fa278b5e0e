"""Counting what a reader got wrong: passage sentences that are not the typeset text, by the kind of defect."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ragbot.chunking import chunk_document
from ragbot.corpus.blocks import parse_blocks
from ragbot.corpus.folder import Document
from ragbot.models.tokens import count_tokens

from .render import Brief

KINDS = ("running head", "page number", "footnote", "hyphen-broken word", "other")


def words(text: str) -> list[str]:
    """Lower-case words, hyphens and apostrophes inside words dropped (so "socio-cultural" and "sociocultural" are one)."""
    text = re.sub(r"(?<=\w)[-‐'’](?=\w)", "", text.lower())
    return re.findall(r"\w+", text)


def passages_of(text: str, name: str = "x.pdf") -> list[str]:
    """The sentences of the passages ragbot makes from a reader's text."""
    blocks = parse_blocks(text)
    doc = Document(name, Path(name), text, "", "t", blocks=tuple(blocks))
    return [s for p in chunk_document(doc, count_tokens, 160, 32) for s in p.sentence_texts()]


def sentence_defects(text: str, brief: Brief, running: list[str]) -> dict[str, list[str]]:
    """Each passage sentence whose words are not a run of one typeset block's words, by its likely cause.

    ``running``: the running head and footer texts that were printed on the pages.
    """
    blocks = [" " + " ".join(words(b)) + " " for b in brief.source()]
    notes = [" " + " ".join(words(n)) + " " for n in brief.notes.values()]
    vocab = Counter(w for b in blocks for w in b.split())
    furniture = [" ".join(words(r)) for r in running if words(r)]
    found: dict[str, list[str]] = {k: [] for k in KINDS}
    for sentence in passages_of(text):
        ws = words(re.sub(r"^\[\d+\] ", "", sentence))  # a footnote's number, as parse_blocks writes it
        if not ws:
            continue
        key = " " + " ".join(ws) + " "
        if any(key in b for b in blocks):
            continue
        if any(f and f" {f} " in key for f in furniture):
            kind = "running head"
        elif any(" " + " ".join(w for w in ws if not w.isdigit()) + " " in b for b in blocks):
            kind = "page number"
        elif any(n.strip() and _shares_run(key, n) for n in notes):
            kind = "footnote"
        elif any(vocab[w] == 0 for w in ws):
            kind = "hyphen-broken word"
        else:
            kind = "other"
        found[kind].append(sentence)
    return found


def _shares_run(sentence: str, note: str, n: int = 5) -> bool:
    """Whether n words in a row of a footnote appear in the sentence."""
    ws = note.split()
    return any(" " + " ".join(ws[i : i + n]) + " " in sentence for i in range(max(len(ws) - n + 1, 0)))
