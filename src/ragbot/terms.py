"""The words of a text as retrieval and verification count them: lower-case, stopwords out, plurals folded."""

from __future__ import annotations

import re

_STOPWORD_TEXT = (
    "a an the and or but of to in on at for from by with as is are was were be been being it its this "
    "that these those there their them they he she his her we our you your i me my what which who whom "
    "whose when where why how do does did doing done has have had having can could would should will "
    "shall may might must not no nor so than too very just about into over under between among also any "
    "all each both more most other some such only own same s t if then once here out up down off again "
    "further brief briefs say says according tell me please "
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stopwords; plural and possessive endings folded."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        out.append(word)
    return out
