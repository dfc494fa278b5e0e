"""The words of a text as retrieval and verification count them: lower-case, stopwords out, plurals folded."""

from __future__ import annotations

import re
import zlib
from functools import lru_cache

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
    return [term for word in _WORD.findall(text.lower()) if (term := _term(word))]


@lru_cache(maxsize=200_000)
def _term(word: str) -> str:
    """A word's term ("" for a stopword); cached, since a library repeats its words."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if word in STOPWORDS:
        return ""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=200_000)
def term_id(term: str) -> int:
    """A term's stable id (its CRC-32): the same in every library and every build, so stored ids need no vocabulary."""
    return zlib.crc32(term.encode("utf-8"))
