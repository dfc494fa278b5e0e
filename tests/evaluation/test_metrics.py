from __future__ import annotations

import math

import pytest

from ragbot.evaluation import metrics as m
from ragbot.evaluation.dataset import Evidence

E = Evidence("a.txt", "quote", 100, 200)  # a 100-character gold quote


def test_a_passage_holds_a_quote_when_it_has_at_least_half():
    assert m.holds(m.Span("a.txt", 0, 300), E)
    assert m.holds(m.Span("a.txt", 150, 400), E)  # exactly half, cut by a chunk edge
    assert not m.holds(m.Span("a.txt", 160, 400), E)
    assert not m.holds(m.Span("b.txt", 0, 300), E)


def test_a_quote_split_across_two_chunks():
    left, right = m.Span("a.txt", 0, 140), m.Span("a.txt", 140, 300)  # 40 + 60 characters
    assert not m.holds(left, E) and m.holds(right, E)
    assert m.first_relevant_rank([left, right], [E]) == 2
    # together the two chunks cover the whole quote, even if neither alone held half of a longer one
    long_quote = Evidence("a.txt", "q", 100, 300)
    assert not m.holds(left, long_quote) and not m.holds(m.Span("a.txt", 205, 400), long_quote)
    assert m.evidence_coverage([left, m.Span("a.txt", 140, 400)], [long_quote]) == 1.0
    assert m.evidence_coverage([m.Span("a.txt", 0, 120)], [long_quote]) == 0.0


def test_rank_based_metrics():
    ranked = [m.Span("b.txt", 0, 50), m.Span("a.txt", 90, 210), m.Span("a.txt", 0, 10)]
    rank = m.first_relevant_rank(ranked, [E])
    assert rank == 2
    assert (m.hit_at(rank, 1), m.hit_at(rank, 3)) == (0.0, 1.0)
    assert m.reciprocal_rank(rank) == 0.5 and m.reciprocal_rank(None) == 0.0
    assert m.ndcg_at(ranked, [E], 10) == pytest.approx(1 / math.log2(3))
    two = [E, Evidence("c.txt", "q", 0, 10)]
    assert m.ndcg_at([m.Span("c.txt", 0, 20), m.Span("a.txt", 0, 300)], two) == pytest.approx(1.0)
    assert m.ndcg_at([m.Span("a.txt", 0, 300), m.Span("a.txt", 0, 300)], two) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_answer_metrics_normalise_text():
    answer = "The partnership became a “Comprehensive Strategic Partnership” in 2024 [1]. Trade reached 159,739 [2]."
    assert m.key_fact_recall(answer, ["comprehensive strategic partnership", "2024", "159739", "1989"]) == 0.75
    assert m.token_f1("the ADMM [1]", "ADMM") == 1.0
    assert m.token_f1("ASEAN Defence Ministers Meeting", "ADMM") == 0.0
    assert m.token_f1("ASEAN defence ministers", "ASEAN Defence Ministers' Meeting") == pytest.approx(2 * 1 * 0.75 / 1.75)


def test_citation_scores():
    good, bad = m.Span("a.txt", 0, 300), m.Span("b.txt", 0, 300)
    assert m.citation_scores([good, bad], [E]) == (1.0, 0.5)
    assert m.citation_scores([bad], [E]) == (0.0, 0.0)
    assert m.citation_scores([], [E]) == (0.0, 0.0)


def test_percentile():
    assert m.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert m.percentile([5], 0.95) == 5
    assert math.isnan(m.percentile([], 0.5))


def test_outcomes_are_what_a_user_got():
    facts = ("90 per cent", "Malacca")
    assert m.outcome("answered", "About 90 per cent passes the Malacca Strait [1].", facts, True) == "correct"
    assert m.outcome("answered", "About 90 per cent of it [1].", facts, True) == "partial"
    assert m.outcome("answered", "Chinese economic retaliation [1].", facts, True) == "wrong", "an answer with none of the facts"
    assert m.outcome("answered", "Paris [1].", (), False) == "wrong", "any answer to an unanswerable question"
    assert m.outcome("unsure", "Unsure: ...", facts, True) == "unsure"
    assert m.outcome("abstained", "The briefs don't say.", (), False) == "abstained"
