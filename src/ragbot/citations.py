"""Citation markers ("[n]" after a sentence points to the n-th cited passage) and their verification."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ragbot.answer import ABSTAIN_TEXT, Citation
from ragbot.chunking import Passage, split_sentences
from ragbot.models.embedder import Encoder
from ragbot.terms import STOPWORDS, tokenize

MARKER = re.compile(r"\s*\[(\d+)\]")
# "[1]", "[1, 2]", "[1][2]", "[Passage 1]": what small models write for a citation
_MARKER_GROUP = re.compile(r"\s*\[(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\]", re.I)
_ABSTAIN_PHRASES = re.compile(
    r"\b(briefs|passages|sources|context)\s+(don'?t|do not|does not|doesn'?t)\s+(say|mention|answer|contain|provide)", re.I
)


def compose(picked: list[tuple[Passage, tuple[int, int]]]) -> tuple[str, list[Citation]]:
    """Join sentences, each followed by the marker of its passage; passages are numbered by first use."""
    text, citations = cite([(passage.text[s:e].strip(), passage, (s, e)) for passage, (s, e) in picked])
    return text, citations


def cite(claims: list[tuple[str, Passage, tuple[int, int]]]) -> tuple[str, list[Citation]]:
    """Join (sentence, passage, supporting span) claims into "sentence [n]" text; passages numbered by first use."""
    numbers: dict[str, int] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    supports: dict[str, list[int]] = {}
    passages: dict[str, Passage] = {}
    parts = []
    for i, (sentence, passage, span) in enumerate(claims):
        pid = passage.passage_id
        n = numbers.setdefault(pid, len(numbers) + 1)
        passages[pid] = passage
        if span not in spans.setdefault(pid, []):
            spans[pid].append(span)
        supports.setdefault(pid, []).append(i)
        parts.append(f"{sentence} [{n}]")
    citations = [
        Citation(
            n,
            passages[pid],
            " … ".join(passages[pid].text[s:e] for s, e in sorted(spans[pid])),
            tuple(sorted(spans[pid])),
            tuple(supports[pid]),
        )
        for pid, n in numbers.items()
    ]
    return " ".join(parts), citations


def says_abstain(text: str) -> bool:
    """Whether a generated answer is (or opens with) "the briefs don't say"."""
    head = text.strip()[:80]
    return head.lower().startswith(ABSTAIN_TEXT.lower()[:-1]) or bool(_ABSTAIN_PHRASES.search(head))


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """A generated answer's sentences, each without markers, with the passage numbers it cites."""
    claims: list[tuple[str, list[int]]] = []
    for s, e in split_sentences(text.strip()):
        sentence = text.strip()[s:e]
        numbers = [int(n) for m in _MARKER_GROUP.finditer(sentence) for n in re.findall(r"\d+", m.group(1))]
        bare = " ".join(_MARKER_GROUP.sub("", sentence).split())
        if re.fullmatch(r"[\W\d]*", bare):  # a lone marker after the sentence break: it belongs to the last claim
            if claims:
                claims[-1][1].extend(numbers)
            continue
        claims.append((bare, numbers))
    return claims


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"[A-Z][\w’'-]*")


def known_words(text: str) -> set[str]:
    """Lower-case word and number pieces, with a plural or possessive "s" folded (hyphens and apostrophes split)."""
    pieces = re.findall(r"[a-z]+|\d+(?:\.\d+)?", re.sub(r"(?<=\d),(?=\d{3})", "", text.lower()))
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in pieces}


def new_facts(claim: str, vocabulary: set[str]) -> list[str]:
    """The claim's numbers and names missing from ``vocabulary`` (``known_words`` of the known text): what a model invented.

    A name is a capitalised word after the claim's first; stopwords are not names, and a demonym
    counts as found when its stem begins a known word ("Chinese" for "China", "Asian" for "Asia").
    """
    missing = []
    for number in _NUMBER.findall(claim):
        if not known_words(number) <= vocabulary:
            missing.append(number)
    for match in _NAME.finditer(claim):
        if match.start() == 0:
            continue
        for word in known_words(match.group()) - STOPWORDS:
            if word.isalpha() and word not in vocabulary and not _demonym_of_known(word, vocabulary):
                missing.append(word)
    return missing


def _demonym_of_known(word: str, vocabulary: set[str]) -> bool:
    stems = [word[: -len(end)] for end in ("ese", "ian", "an", "n") if word.endswith(end) and len(word) - len(end) >= 4]
    return any(v.startswith(stem) for stem in stems for v in vocabulary)


@dataclass(frozen=True)
class Support:
    score: float  # (cosine to the best sentence + share of the claim's terms found in the passage) / 2
    span: tuple[int, int]  # the passage's best-matching sentence


@dataclass(frozen=True)
class Verified:
    kept: list[tuple[str, Passage, tuple[int, int]]]  # (sentence, supporting passage, its best span): what `cite` joins
    dropped: list[str]


class CitationVerifier:
    """Checks each generated sentence against the passage(s) it cites, by terms and by meaning.

    A sentence is supported by a passage when the mean of (cosine similarity to the passage's best
    sentence, share of the sentence's content words found in the passage) reaches ``threshold``.
    A sentence whose cited passages fail is re-cited to the numbered passage that supports it best,
    or dropped when none does.
    """

    def __init__(self, encoder: Encoder, threshold: float = 0.55) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"support threshold must be in (0, 1], got {threshold}")
        self.encoder, self.threshold = encoder, threshold

    def support(self, claim_vector: np.ndarray, claim_terms: set[str], passage: Passage, sentence_vectors: np.ndarray) -> Support:
        sims = sentence_vectors @ claim_vector
        best = int(np.argmax(sims))
        coverage = len(claim_terms & set(tokenize(passage.text))) / len(claim_terms) if claim_terms else 0.0
        return Support(float(sims[best] + coverage) / 2, passage.sentences[best])

    def run(self, text: str, numbered: list[Passage], sentence_vectors: list[np.ndarray], question: str = "") -> Verified:
        """The answer's supported sentences, each with the passage that supports it, and the dropped ones.

        A passage supports a sentence only if, besides reaching the threshold, it holds every number
        and name the sentence gives (with the question, the passages the sentence cites, and the
        documents' titles and file names): a sentence that reads like a passage but swaps in a year
        or a place from elsewhere is not supported.
        """
        claims = split_claims(text)
        if not claims:
            return Verified([], [])
        vectors = self.encoder.encode([c for c, _ in claims])
        head = known_words("\n".join([question, *(f"{p.doc_id} {p.title} {p.section or ''}" for p in numbered)]))
        words = [known_words(p.text) for p in numbered]
        kept: list[tuple[str, Passage, tuple[int, int]]] = []
        dropped: list[str] = []
        for (claim, cited), vector in zip(claims, vectors, strict=True):
            terms = set(tokenize(claim))
            scores = {n: self.support(vector, terms, numbered[n - 1], sentence_vectors[n - 1]) for n in range(1, len(numbered) + 1)}
            valid = [n for n in dict.fromkeys(cited) if n in scores]  # a marker pointing to no passage is removed
            context = head.union(*(words[n - 1] for n in valid))
            supported = [n for n in scores if scores[n].score >= self.threshold and not new_facts(claim, context | words[n - 1])]
            # the cited passage that supports it best, else re-cited to the best supporting passage
            chosen = max([n for n in valid if n in supported] or supported, key=lambda n: scores[n].score, default=None)
            if chosen is None:
                dropped.append(claim)
                continue
            kept.append((claim, numbered[chosen - 1], scores[chosen].span))
        return Verified(kept, dropped)


def markers(text: str) -> list[int]:
    """The citation numbers in an answer, in order of appearance."""
    return [int(m.group(1)) for m in MARKER.finditer(text)]
