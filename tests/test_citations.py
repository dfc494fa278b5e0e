from __future__ import annotations

from ragbot.citations import known_words, new_facts

KNOWN = known_words("At the 17th ADMM in the mid-2000s, trade with China reached USD 150,000 million; about 90 per cent of Asia's oil.")


def test_numbers_and_names_the_known_text_holds_are_not_new():
    assert new_facts("Trade with China reached 150,000 million at the 17th ADMM.", KNOWN) == []
    assert new_facts("In the mid2000s, Chinese and Asian trade grew 90%.", KNOWN) == []  # demonyms of known names


def test_invented_numbers_and_names_are_new():
    assert new_facts("Trade reached 150,000 million in 2023.", KNOWN) == ["2023"]
    assert new_facts("The ADMM met in Kuala Lumpur, Malaysia.", KNOWN) == ["kuala", "lumpur", "malaysia"]
    assert new_facts("It was 75 per cent.", KNOWN) == ["75"]


def test_the_first_word_and_stopwords_are_not_names():
    assert new_facts("Penguins traded with China.", KNOWN) == []
    assert new_facts("Trade rose. The ADMM met.", KNOWN) == []
