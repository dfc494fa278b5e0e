"""The deterministic claim checks on passages written for the test: what a small model talks past the other checks."""

from __future__ import annotations

import pytest

from ragbot.claim_checks import ClaimChecks, adds_content, asks_for, figure_in_context, gives

PASSAGE = (
    "The Ostrava Forum was founded in 1998 by the Lindqvist Institute. In 2019, trade between Valdoria and Kestria "
    "reached USD 48 billion. In 2015 it had been far lower. The 2021 summit was held in Port Amsel."
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many members does the Ostrava Forum have?", "number"),
        ("What share of trade passes through Port Amsel?", "number"),
        ("Where does Valdoria rank among Kestria's partners?", "number"),
        ("When was the Ostrava Forum founded?", "year"),
        ("In which year did trade peak?", "year"),
        ("Who founded the Ostrava Forum?", "name"),
        ("Where was the 2021 summit held?", "name"),
        ("Which two Kestrian cities host the forum?", "name"),
        ("Why did trade between Valdoria and Kestria grow?", None),
    ],
)
def test_what_a_question_asks_for(question: str, kind: str | None):
    assert asks_for(question) == kind


def test_a_sentence_that_only_restates_the_question_is_no_answer():
    question = "Where was the 2021 summit held?"
    assert not adds_content("The 2021 summit was held in.", question)
    assert adds_content("The 2021 summit was held in Port Amsel.", question)


def test_a_figure_moved_to_another_year_is_out_of_context():
    assert not figure_in_context("Trade between Valdoria and Kestria reached USD 48 billion in 2015.", PASSAGE)
    assert figure_in_context("Trade between Valdoria and Kestria reached USD 48 billion in 2019.", PASSAGE)
    assert figure_in_context("Trade reached USD 48 billion.", PASSAGE)  # no year claimed: nothing to misplace


def test_the_answer_must_give_the_kind_of_thing_asked_for():
    assert not gives("name", "The forum was founded in 1998.", "Who founded the Ostrava Forum?")
    assert gives("name", "The forum was founded by the Lindqvist Institute.", "Who founded the Ostrava Forum?")
    assert not gives("year", "The Ostrava Forum was founded in 1998.", "When was the forum founded, before or after 1998?")
    assert gives("number", "Trade reached USD 48 billion.", "How much did trade between Valdoria and Kestria reach in 2019?")
    assert not gives("number", "Trade grew in 2019.", "How much did trade between Valdoria and Kestria reach in 2019?")


def test_claim_checks_drop_failing_sentences_and_an_answer_without_what_was_asked():
    checks = ClaimChecks()
    question = "How much did trade between Valdoria and Kestria reach in 2015?"
    passing, failures = checks.run(question, [("Trade between Valdoria and Kestria reached USD 48 billion in 2015.", PASSAGE)])
    assert passing == [] and [f.check for f in failures] == ["figure out of context"]
    passing, failures = checks.run(
        "When was the Ostrava Forum founded?",
        [("The Ostrava Forum was founded.", PASSAGE), ("It was founded by the Lindqvist Institute.", PASSAGE)],
    )
    assert passing == [] and [f.check for f in failures] == ["restates the question", "does not give the year asked for"]
    passing, failures = checks.run("When was the Ostrava Forum founded?", [("The Ostrava Forum was founded in 1998.", PASSAGE)])
    assert passing == [0] and failures == []
