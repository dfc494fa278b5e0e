"""Retrieval, answer, citation and abstention metrics; pure functions over spans and strings.

A passage is located by (doc, start, end) character offsets in its source file, as is each
gold evidence quote, so metrics work for any chunking, including the naive baseline's.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from ragbot.evaluation.dataset import Evidence

MIN_QUOTE_SHARE = 0.5  # a passage "holds" a quote when it holds at least half of it


class Span(NamedTuple):
    doc: str
    start: int
    end: int


def _overlap(a: Span | Evidence, b: Span | Evidence) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start)) if a.doc == b.doc else 0


def holds(passage: Span, evidence: Evidence) -> bool:
    """True when the passage holds at least half of the quote (a quote may be cut by a chunk edge)."""
    return _overlap(passage, evidence) >= MIN_QUOTE_SHARE * (evidence.end - evidence.start)


def relevant(passage: Span, evidence: Sequence[Evidence]) -> bool:
    return any(holds(passage, e) for e in evidence)


def first_relevant_rank(ranked: Sequence[Span], evidence: Sequence[Evidence]) -> int | None:
    """1-based rank of the first passage holding gold evidence, or None."""
    return next((i for i, p in enumerate(ranked, 1) if relevant(p, evidence)), None)


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def ndcg_at(ranked: Sequence[Span], evidence: Sequence[Evidence], k: int = 10) -> float:
    """Binary nDCG: a passage gains 1 if it holds a quote not already found higher up; ideal = one quote per rank."""
    found: set[int] = set()
    dcg = 0.0
    for i, p in enumerate(ranked[:k]):
        new = {j for j, e in enumerate(evidence) if j not in found and holds(p, e)}
        if new:
            dcg += 1.0 / math.log2(i + 2)
            found |= new
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(evidence), k)))
    return dcg / ideal if ideal else 0.0


def evidence_coverage(ranked: Sequence[Span], evidence: Sequence[Evidence]) -> float:
    """Share of gold quotes whose characters the retrieved passages cover at least half of, together."""
    if not evidence:
        return 0.0
    covered = 0
    for e in evidence:
        chars = set()
        for p in ranked:
            if p.doc == e.doc:
                chars.update(range(max(p.start, e.start), min(p.end, e.end)))
        covered += len(chars) >= MIN_QUOTE_SHARE * (e.end - e.start)
    return covered / len(evidence)


_MARKER = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’–—…")


def normalise(text: str) -> str:
    """Lower case, no citation markers, punctuation, articles or extra spaces; 1,000 -> 1000."""
    text = _MARKER.sub("", text).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = _ARTICLES.sub(" ", text.translate(_PUNCT))
    return " ".join(text.split())


def key_fact_recall(answer: str, facts: Sequence[str]) -> float:
    if not facts:
        return 0.0
    norm = normalise(answer)
    return sum(normalise(f) in norm for f in facts) / len(facts)


OUTCOMES = ("correct", "partial", "wrong", "unsure", "abstained")


def outcome(status: str, answer: str, facts: Sequence[str], answerable: bool) -> str:
    """What a user got: correct (every key fact), partial, wrong (an answer with none, or any answer to an unanswerable
    question), unsure or abstained (no answer offered)."""
    if status != "answered":
        return status
    if not answerable:
        return "wrong"
    recall = key_fact_recall(answer, facts)
    return "correct" if recall == 1.0 else "partial" if recall > 0 else "wrong"


# What a user reads as "no answer" from a model that has no answer states (LangChain's tutorial chain, an external
# system): counted as abstaining, to its credit.
_DONT_KNOW = re.compile(
    r"\b(i )?(do not|don'?t) know\b|\b(not|no) (mentioned|provided|stated|specified|information)\b|\bdoes not (say|mention|provide)",
    re.I,
)


def says_dont_know(text: str) -> bool:
    """The tutorial's rule for a reply that offers no answer ("I don't know", "not mentioned", ...), read in its opening."""
    return bool(_DONT_KNOW.search(text[:120]))


def token_f1(answer: str, gold: str) -> float:
    pred, ref = normalise(answer).split(), normalise(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def citation_scores(cited: Sequence[Span], evidence: Sequence[Evidence]) -> tuple[float, float]:
    """(support, precision): does any cited passage hold gold evidence; what share of cited passages do."""
    if not cited:
        return 0.0, 0.0
    good = [relevant(p, evidence) for p in cited]
    return float(any(good)), sum(good) / len(good)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
