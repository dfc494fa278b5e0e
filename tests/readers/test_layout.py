"""The layout rules on lines made by hand: hyphenated breaks, page furniture, columns."""

from __future__ import annotations

from collections import Counter

from ragbot.readers.layout import Line, Page, furniture, join_lines, lay_out


def test_a_hyphen_at_a_line_end_joins_the_word_or_keeps_a_compound():
    vocab = Counter({"interest": 2, "socio-cultural": 1, "well": 3, "suited": 1})
    assert join_lines("a growing inter", "est in", True, vocab) == "a growing interest in"
    assert join_lines("on socio", "cultural issues", True, vocab) == "on socio-cultural issues"
    assert join_lines("is well", "suited to", True, vocab) == "is well-suited to"  # both words, neither form written elsewhere
    assert join_lines("is sustain", "able growth", True, Counter({"sustain": 1, "able": 2})) == "is sustainable growth"
    assert join_lines("the Korea", "ASEAN talks", True, Counter()) == "the Korea-ASEAN talks"
    assert join_lines("high", "-tech one", True, Counter()) == "high-tech one"  # the hyphen repeated on the next line
    assert join_lines("in 2019", "the talks", False, vocab) == "in 2019 the talks"


def _page(lines: list[tuple[str, float]], size: float = 10) -> Page:
    return Page(595, 842, tuple(Line(t, 56, 56 + 6 * len(t), top, top + size, size) for t, top in lines))


def test_running_heads_footers_and_page_numbers_are_furniture_but_body_numbers_are_not():
    pages = [
        _page([("Policy Institute | A Title", 30), ("Body text starts here.", 120), ("12", 140), ("3", 810)]),
        _page([("Policy Institute | A Title", 30), ("More body text.", 120), ("4", 810)]),
        _page([("Policy Institute | A Title", 30), ("2024", 60), ("Even more text.", 120), ("5", 810)]),
    ]
    found = {(p, pages[p].lines[i].text) for p, i in furniture(pages)}
    assert found == {(0, "Policy Institute | A Title"), (1, "Policy Institute | A Title"), (2, "Policy Institute | A Title"),
                     (0, "3"), (1, "4"), (2, "5")}  # fmt: skip


def test_two_columns_are_read_one_after_the_other():
    left = [Line(f"left line {i} of the first column text", 56, 280, 100 + 12 * i, 110 + 12 * i, 10) for i in range(8)]
    right = [Line(f"right line {i} of the second column", 310, 540, 100 + 12 * i, 110 + 12 * i, 10) for i in range(8)]
    text = lay_out([Page(595, 842, tuple(left + right))]).text
    assert text.index("left line 7") < text.index("right line 0")
    assert "first column text left line 1 of" in text and "second column right line 1 of" in text  # never interleaved
