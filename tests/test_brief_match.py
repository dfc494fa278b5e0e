"""Questions that name their brief (issue #21): the matcher on briefs written for this test, and the retriever ranking a named brief first.

tests/data/named_briefs holds four invented briefs: a harbour pilotage brief (Meridian Maritime Forum,
2021), two transport briefs from the Tallis Centre (2023 and 2025) and an urban heat brief (Corvid
Institute, 2023). Nothing here is about the shipped briefs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ragbot.app.render import render_sources
from ragbot.brief_match import BriefMatcher
from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.index.writer import build_index
from ragbot.models.embedder import Embedder, query_encoder_for
from ragbot.retrieval import Retriever
from ragbot.settings import Settings

LIBRARY = Path(__file__).resolve().parent / "data" / "named_briefs"
PILOTAGE = "2021-04_meridian_harbour-pilotage-reform.md"
RURAL_BUS = "2023-02_tallis_rural-bus-network-review.md"
HEAT = "2023-09_corvid_urban-heat-action-plans.md"
DEPOTS = "2025-05_tallis_electric-bus-depots.md"
COOLING = "How many cooling centres were opened during the July 2022 heatwave"


@pytest.fixture(scope="module")
def matcher() -> BriefMatcher:
    return BriefMatcher({e["file"]: e for e in json.loads((LIBRARY / "sources.json").read_text(encoding="utf-8"))})


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("What does the Meridian brief recommend for tankers?", {PILOTAGE}),  # publisher name
        ("What does the MMF brief recommend for tankers?", {PILOTAGE}),  # publisher acronym
        ("What peak load does the 2025 paper give for a depot?", {DEPOTS}),  # a year one brief has
        ("In the 2023 brief, how many trips did the shuttles make?", {RURAL_BUS, HEAT}),  # a year two briefs share
        ("How many routes were lost, according to the Tallis report?", {RURAL_BUS, DEPOTS}),  # a publisher of two briefs
        ("How many routes were lost, according to the 2023 Tallis report?", {RURAL_BUS}),  # year and publisher together
        ("What is the budget of the grid programme, per the RGUP report?", {DEPOTS}),  # acronym of a title phrase
        ("How many passages were flown in the trials, according to the brief on pilotage?", {PILOTAGE}),  # a title word
        ("What does Maya Lindqvist's analysis say about text warnings?", {HEAT}),  # an author
        ("Which cities sent warnings by text, according to Lindqvist?", {HEAT}),  # "according to" an author
        ("What does the September 2023 brief say about trees?", {HEAT}),  # month and year
        ("Compare the Corvid brief and the 2021 brief on their recommendations.", {HEAT, PILOTAGE}),  # two mentions
    ],
)
def test_a_question_that_names_a_brief_matches_it(matcher: BriefMatcher, question: str, named: set[str]) -> None:
    assert matcher.match(question) == named


@pytest.mark.parametrize(
    "question",
    [
        "How many cooling centres were opened in 2022?",  # a year, not a brief's
        "Which brief discusses remote pilotage?",  # a brief, but none named
        "What did the heatwave of July 2023 do to bus services?",
        "What does the brief say about urban trees?",  # "about" after "say", not after the noun
        "What does the Atlas Institute report say about ports?",  # an organisation the library does not hold
    ],
)
def test_a_question_that_names_no_brief_matches_none(matcher: BriefMatcher, question: str) -> None:
    assert matcher.match(question) == frozenset()


def test_a_feature_every_brief_shares_names_none() -> None:
    same = BriefMatcher(
        {
            "a.md": {"title": "Ports", "publisher": "Tallis Centre", "date": "2024"},
            "b.md": {"title": "Roads", "publisher": "Tallis Centre", "date": "2024"},
        }
    )
    assert same.match("What does the 2024 Tallis brief say?") == frozenset()
    assert same.match("What does the Tallis brief on ports say?") == {"a.md"}
    loose = BriefMatcher({"a.md": {"title": "Ports", "authors": "Jo Marsh"}, "b.md": {"title": "Roads", "date": "n.d."}, "c.md": {}})
    assert loose.match("What does the Marsh paper say?") == {"a.md"}, "an author given as one string, odd dates and no metadata are read"


@pytest.fixture(scope="module")
def named_pipeline(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The four briefs indexed with the real embedder and the default settings."""
    root = tmp_path_factory.mktemp("named-briefs")
    shutil.copytree(LIBRARY, root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    index, _ = build_index(settings, embedder, progress=False, log=lambda _m: None)
    return Pipeline(settings, index, query_encoder_for(settings))


def test_a_named_brief_ranks_first_and_the_others_follow(named_pipeline: Pipeline) -> None:
    """Both the heat brief and the rural bus brief answer it: unnamed, the heat brief wins; named, the bus brief does."""
    plain = named_pipeline.retriever.run(f"{COOLING}?")
    assert plain.named_briefs == frozenset() and plain.hits[0].passage.doc_id == HEAT
    named = named_pipeline.retriever.run(f"{COOLING}, according to the 2023 Tallis brief?")
    assert named.named_briefs == {RURAL_BUS}
    assert named.hits[0].passage.doc_id == RURAL_BUS and "6 cooling centres" in named.hits[0].passage.text
    assert HEAT in {h.passage.doc_id for h in named.hits}, "other briefs' passages still rank, after the named one's"
    for hit in named.hits:  # the boost ranks; a source card shows the relevance the passage earned without it
        assert hit.brief_boost == (10.0 if hit.passage.doc_id == RURAL_BUS else 0.0) and hit.relevance == hit.score - hit.brief_boost
    card = render_sources(named_pipeline.ask(f"{COOLING}, according to the 2023 Tallis brief?"), {})
    assert f"{named.hits[0].relevance:.3f}" in card and f"{named.hits[0].score:.3f}" not in card
    off = Retriever(named_pipeline.index, named_pipeline.encoder, named_pipeline.settings.model_copy(update={"brief_match_weight": 0.0}))
    assert off.run(f"{COOLING}, according to the 2023 Tallis brief?").hits[0].passage.doc_id == HEAT


def test_a_named_brief_far_from_the_question_is_still_searched(named_pipeline: Pipeline) -> None:
    """The pilotage brief says nothing of heat: not among the 3 candidates, it is searched too, and its passages come first."""
    few = Retriever(named_pipeline.index, named_pipeline.encoder, named_pipeline.settings.model_copy(update={"candidates": 3}))
    assert PILOTAGE not in {h.passage.doc_id for h in few.run(f"{COOLING}?", k=3).hits}
    retrieval = few.run(f"{COOLING}, according to the Meridian brief?", k=3)
    assert retrieval.named_briefs == {PILOTAGE} and {h.passage.doc_id for h in retrieval.hits} == {PILOTAGE}


def test_a_document_filter_keeps_only_the_named_briefs_it_allows(named_pipeline: Pipeline) -> None:
    retrieval = named_pipeline.retriever.run(f"{COOLING}, according to the 2023 Tallis brief?", docs={HEAT})
    assert retrieval.named_briefs == frozenset() and {h.passage.doc_id for h in retrieval.hits} == {HEAT}


def test_the_weight_is_a_setting_at_least_zero() -> None:
    assert Settings().brief_match_weight == 10.0
    with pytest.raises(RagbotError, match="brief_match_weight"):
        Settings.from_dict({"brief_match_weight": -1})


def test_the_instant_engine_quotes_the_named_brief(named_pipeline: Pipeline) -> None:
    """Unnamed, the answer leads with the heat brief's 48 centres; named, it quotes the bus brief's 6 alone."""
    plain = named_pipeline.ask(f"{COOLING}?")
    assert plain.status == "answered" and plain.citations[0].passage.doc_id == HEAT, plain.text
    named = named_pipeline.ask(f"{COOLING}, according to the 2023 Tallis brief?")
    assert named.status == "answered" and "6 cooling centres" in named.text, named.text
    assert {c.passage.doc_id for c in named.citations} == {RURAL_BUS}
