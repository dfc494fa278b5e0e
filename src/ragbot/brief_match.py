"""Which briefs a question names ("the 2019 Asan brief", "according to RSIS"), from the library's own metadata.

The rules are generic: a mention is the words before a document noun ("the <X> brief", "<Author>'s
<year> paper", "the <X> article on <Y>") or after "according to"; its words are looked up among the
briefs' years and months, publisher, series and author names (with their acronyms) and the title
words that few titles share (with the acronyms of capitalised title phrases, "ASEAN Defence Ministers'
Meeting" giving ADMM). Within a mention years (and months) are alternatives and the other words must
all hold; when no brief holds them all, the briefs holding the most do. A question that names nothing,
or names every brief, matches none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ragbot.terms import STOPWORDS, tokenize

_HEAD_TEXT = "brief briefs paper papers report reports article articles analysis analyses study studies commentary piece publication"
HEADS = frozenset(_HEAD_TEXT.split())
# Words of an organisation's name or a series that say what it is, not which one it is.
_GENERIC_TEXT = (
    "institute institution school university centre center studies study foundation international policy research council society "
    "academy national college association department ministry office programme program graduate technological affairs strategic "
    "group forum network issue brief paper report series working note english summary edition journal review press news "
    "commentary analysis article perspective insight the of for and in on at"
)
GENERIC = frozenset(_GENERIC_TEXT.split())
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
_CLAUSE = re.compile(r"[,;:?!()\[\]\"“”]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.][A-Za-z0-9]+)*['’]?")  # hyphens split: "ADMM-Plus" is ADMM and Plus
_YEAR = re.compile(r"(?:19|20)\d\d")
_WINDOW = 6  # words of a mention on either side of its noun
_MIN_ACRONYM = 3


def _names(text: str) -> set[str]:
    """Distinctive words of a publisher, series or author name: capitalised, not generic, lower-cased."""
    words = [w.strip(".'’") for w in re.split(r"[\s()\[\],/–-]+", text)]
    return {w.lower() for w in words if len(w) >= 3 and w[0].isupper() and w.lower() not in GENERIC and not w.isdigit()}


def _acronyms(text: str) -> set[str]:
    """All-caps words, and the initials of runs of three or more capitalised words ("of", "and", "for" skipped)."""
    found = {w for w in re.findall(r"\b[A-Z]{2,}[A-Z0-9]*\b", text)}
    for run in re.split(r"[:,;()?!\[\]]", re.sub(r"[\"'‘’“”]", "", text)):
        words = [w for w in re.split(r"[\s–-]+", run) if w and w.lower() not in {"of", "and", "for", "the", "in", "on", "&"}]
        capital = [w[0].isupper() for w in words]
        for i in range(len(words)):
            for j in range(i + _MIN_ACRONYM, len(words) + 1):
                if not all(capital[i:j]):
                    break
                found.add("".join(w[0] for w in words[i:j]).upper())
    return found


class BriefMatcher:
    """Maps a question to the doc_ids of the briefs it names; built once per index from its documents' metadata."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self.doc_ids = frozenset(documents)
        self.years: dict[str, set[str]] = {}
        self.months: dict[str, set[str]] = {}
        self.names: dict[str, set[str]] = {}  # publisher, series and author words, lower-case
        self.words: dict[str, set[str]] = {}  # title terms few titles share
        self.acronyms: dict[str, set[str]] = {}  # upper-case; matched only by an upper-case word
        title_terms: dict[str, set[str]] = {}
        for doc_id, meta in documents.items():
            self._add_document(doc_id, meta, title_terms)
        share = max(1, len(documents) // 2)
        self.words = {t: d for t, d in title_terms.items() if len(d) <= share and not t.isdigit() and len(t) >= 3}
        for table in (self.years, self.months, self.names, self.acronyms):
            for key in [k for k, d in table.items() if len(d) == len(self.doc_ids)]:
                del table[key]  # a feature every brief has tells none apart

    def _add_document(self, doc_id: str, meta: Mapping[str, Any], title_terms: dict[str, set[str]]) -> None:
        date = str(meta.get("date") or "")
        if _YEAR.fullmatch(date[:4]):
            self.years.setdefault(date[:4], set()).add(doc_id)
            if len(date) >= 7 and date[5:7].isdigit() and 1 <= int(date[5:7]) <= 12:
                self.months.setdefault(MONTHS[int(date[5:7]) - 1], set()).add(doc_id)
        title = str(meta.get("title") or "")
        for term in set(tokenize(title)):
            title_terms.setdefault(term, set()).add(doc_id)
        authors = meta.get("authors") or ()
        named = [str(meta.get(k) or "") for k in ("publisher", "series")] + (
            [authors] if isinstance(authors, str) else [str(a) for a in authors]
        )
        for text in named:
            for word in _names(text):
                self.names.setdefault(word, set()).add(doc_id)
        for text in [title, *named[:2]]:
            for acronym in _acronyms(text):
                self.acronyms.setdefault(acronym, set()).add(doc_id)

    def match(self, question: str) -> frozenset[str]:
        """The doc_ids of the briefs the question names; empty when it names none (or all)."""
        if len(self.doc_ids) < 2:
            return frozenset()
        found: set[str] = set()
        for words, names_only in _mentions(question):
            found |= self._resolve(words, names_only)
        return frozenset(found) if found != self.doc_ids else frozenset()

    def _resolve(self, words: Iterable[str], names_only: bool) -> set[str]:
        """The briefs one mention's words point to: years and months are alternatives, every other feature must hold."""
        years: set[str] = set()
        months: set[str] = set()
        groups: list[set[str]] = []
        for word in words:
            lower = word.lower().rstrip("'’")
            if not names_only and lower in self.years:
                years |= self.years[lower]
            elif not names_only and lower in self.months:
                months |= self.months[lower]
            elif (acronym := re.sub(r"['’]s?$|(?<=[A-Z])s$", "", word)).isupper() and acronym in self.acronyms:
                groups.append(self.acronyms[acronym])
            elif (name := re.sub(r"['’]s?$", "", lower)) in self.names:
                groups.append(self.names[name])
            elif not names_only:
                groups += [self.words[t] for t in tokenize(word) if t in self.words]
        groups += [g for g in (years, months) if g]
        if not groups:
            return set()
        common = set.intersection(*groups)
        if common:
            return common
        counts = {d: sum(d in g for g in groups) for d in self.doc_ids}
        best = max(counts.values())
        return {d for d, n in counts.items() if n == best}


def _mentions(question: str) -> list[tuple[list[str], bool]]:
    """The words of each mention of a brief: (words, only names count), clause by clause."""
    mentions: list[tuple[list[str], bool]] = []
    for clause in _CLAUSE.split(question):
        words = _WORD.findall(clause)
        lower = [w.lower().rstrip("'’") for w in words]
        for i, w in enumerate(lower):
            if re.sub(r"['’]s$", "", w) in HEADS:
                mentions.append((_before(words, lower, i) + _after(words, lower, i), False))
            elif w == "according" and i + 1 < len(lower) and lower[i + 1] == "to":
                named = _after(words, lower, i + 1, opener=False)
                if not any(x.lower() in HEADS for x in words[i + 2 : i + 4 + len(named)]):  # "according to the X brief": the noun's mention
                    mentions.append((named, True))
    return mentions


def _before(words: list[str], lower: list[str], i: int) -> list[str]:
    """Up to _WINDOW words before the noun at i, back to a stopword ("and" and possessives go on)."""
    j = i
    while j > 0 and i - j < _WINDOW:
        w = re.sub(r"['’]s$", "", lower[j - 1])
        if (w in STOPWORDS and w not in {"and", "may"}) or w in HEADS:
            break
        j -= 1
    return words[j:i]


def _after(words: list[str], lower: list[str], i: int, opener: bool = True) -> list[str]:
    """The words after the noun at i when "on"/"about" follows (or after "according to"), up to a stopword."""
    k = i + 1
    if opener:
        if k >= len(lower) or lower[k] not in {"on", "about"}:
            return []
        k += 1
    while k < len(lower) and lower[k] == "the":
        k += 1
    end = k
    while end < len(lower) and end - k < _WINDOW and _goes_on(lower[end]):
        end += 1
    return words[k:end]


def _goes_on(word: str) -> bool:
    """Whether a mention's words after its noun go on past this word."""
    return (word not in STOPWORDS or word in {"and", "of"}) and word not in HEADS
