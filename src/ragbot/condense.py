"""Follow-ups made standalone: "and Japan?" after a question about Korea becomes a question retrieval can answer."""

from __future__ import annotations

import re

# A short message that leans on what came before: "and Japan?", "what about 2019?", "why was it delayed?"
_FOLLOWUP = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what of|same for|why|how come|how so)\b"
    r"|\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there|then)\b",
    re.I,
)


def is_followup(question: str) -> bool:
    """Whether a question probably needs the conversation to be understood."""
    return len(question.split()) <= 12 and bool(_FOLLOWUP.search(question))


def rewrite_by_rule(question: str, history: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """The follow-up joined to the last question, so retrieval sees both: "What about Japan? (following: ...)"."""
    bare = re.sub(r"^\s*(and|but|also|so|then)\b[\s,]*", "", question, flags=re.I).rstrip(" ?")
    return f"{bare[:1].upper()}{bare[1:]}? (following: {history[-1][0]})"
