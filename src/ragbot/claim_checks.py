"""Checks a small model cannot talk past: deterministic tests of a written answer against its question and passages.

Each is cheap and needs no model. A written sentence fails when it adds nothing to the question
("… was held in."), or puts a number beside a year the passage does not give it with (a figure moved
from another sentence). A whole answer fails when it lacks the kind of thing the question asks for
(a number for "how many", a year for "when", a name for "who" or "which country").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragbot.chunking import split_sentences
from ragbot.terms import tokenize

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)s?\b")
_FIGURE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\s*(?:%|per\s?cent|percent|million|billion|trillion))?", re.I)
_MONTHS = "january february march april may june july august september october november december"
_WORD_NUMBERS = "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand dozen half"
_NAME = re.compile(r"\b[A-Z][\w’'-]+")

# What a question asks for, by its wording; the first pattern that matches decides.
_PLACES_AND_PEOPLE = (
    "country|countries|city|cities|state|states|leader|leaders|president|minister|organi[sz]ations?|agency|agencies|institute"
    "|think tank|government|administration|nations?"
)
ASKS_FOR = (
    ("number", re.compile(r"\b(how (many|much)|what (share|percentage|proportion|portion|fraction|number|amount|sum|figure|ratio|value)"
                          r"|what per ?cent|where (does|do|did) .* (rank|stand))\b", re.I)),
    ("year", re.compile(r"^\s*(when\b|in what year|in which year|what year|which year|since when|by when)", re.I)),
    ("name", re.compile(rf"^\s*(who|whose|whom|where\b|which (\w+ ){{0,2}}({_PLACES_AND_PEOPLE})\b)", re.I)),
)  # fmt: skip


@dataclass(frozen=True)
class CheckFailure:
    """A sentence (or the whole answer, sentence "") that failed a check, and which check."""

    sentence: str
    check: str  # "restates the question" | "figure out of context" | "does not give the <kind> asked for"


def asks_for(question: str) -> str | None:
    """The kind of thing a question asks for ("number", "year" or "name"), or None when it asks for an explanation."""
    return next((kind for kind, pattern in ASKS_FOR if pattern.search(question)), None)


def adds_content(sentence: str, question: str) -> bool:
    """Whether a sentence holds a content word (or number) the question does not."""
    return bool(set(tokenize(sentence)) - set(tokenize(question)))


def gives(kind: str, text: str, question: str) -> bool:
    """Whether ``text`` gives a ``kind`` ("number", "year", "name") that the question itself does not."""
    asked = question.lower()
    if kind == "year":
        years = {m.group(1) for m in _YEAR.finditer(text)} - {m.group(1) for m in _YEAR.finditer(question)}
        return bool(years) or any(month in text.lower() and month not in asked for month in _MONTHS.split())
    if kind == "number":
        figures = {f.lower() for f in _FIGURE.findall(text) if not _YEAR.fullmatch(f)} - {f.lower() for f in _FIGURE.findall(question)}
        words = set(re.findall(r"[a-z]+", text.lower())) & set(_WORD_NUMBERS.split())
        return bool(figures) or bool(words - set(re.findall(r"[a-z]+", asked)))
    names = {m.group().lower() for s, e in split_sentences(text) for m in _NAME.finditer(text, s, e) if m.start() > s}
    return bool(names - set(re.findall(r"[\w’'-]+", asked)))


def figure_in_context(sentence: str, passage: str) -> bool:
    """Whether the passage gives each figure of the sentence with the years the sentence gives it.

    "Trade in 2017 was USD 240 billion" is out of context when every passage sentence holding 240
    billion ties it to other years (a 2019 figure); a passage sentence with the figure and no year
    at all leaves the year to its context, and passes.
    """
    figures = [f for f in _FIGURE.findall(sentence) if not _YEAR.fullmatch(f.strip())]
    years = {m.group(1) for m in _YEAR.finditer(sentence)}
    if not figures or not years:
        return True
    spans = [passage[s:e] for s, e in split_sentences(passage)] or [passage]
    for figure in figures:
        digits = re.sub(r"\D", "", figure.split()[0])
        holding = [w for w in spans if digits and digits in re.sub(r"(?<=\d)[.,](?=\d)", "", w)]
        if holding and not any(years <= {m.group(1) for m in _YEAR.finditer(w)} or not _YEAR.search(w) for w in holding):
            return False
    return True


class ClaimChecks:
    """The deterministic checks over a written answer's kept sentences, each with the text of the passage it cites."""

    def run(self, question: str, kept: list[tuple[str, str]]) -> tuple[list[int], list[CheckFailure]]:
        """The indices of the sentences that pass, and a failure for each dropped one (or for the whole answer)."""
        passing, failures = [], []
        for i, (sentence, passage) in enumerate(kept):
            if not adds_content(sentence, question):
                failures.append(CheckFailure(sentence, "restates the question"))
            elif not figure_in_context(sentence, passage):
                failures.append(CheckFailure(sentence, "figure out of context"))
            else:
                passing.append(i)
        kind = asks_for(question)
        if passing and kind and not gives(kind, " ".join(kept[i][0] for i in passing), question):
            failures.append(CheckFailure("", f"does not give the {kind} asked for"))
            passing = []
        return passing, failures
