"""Better-worded questions from the LLM: a fill-in-the-blank becomes a direct question, kept only if it checks out."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from ragbot.chain import Pipeline
from ragbot.engines.chat_model import backend_errors
from ragbot.quiz.generate import BLANK, validate
from ragbot.quiz.model import Question

PHRASE_PROMPT = (
    "Rewrite the fill-in-the-blank statement as one short, direct question whose answer is the missing words. "
    "Keep the facts of the statement; do not reveal the missing words. Reply with the question only."
)
_STATEMENT = re.compile(r"“([^“]+)”$")


def reword(question: Question, model: Any) -> str | None:
    """The LLM's direct question for a fill-in-the-blank, or None when it fails or gives the answer away."""
    found = _STATEMENT.search(question.question)
    if question.type == "truefalse" or found is None or BLANK not in found.group(1):
        return None
    try:
        reply = model.invoke([("system", PHRASE_PROMPT), ("human", f"Statement: {found.group(1)}\nMissing words: {question.answer}")])
    except backend_errors():
        return None
    text = " ".join(str(reply.content).split()).strip('"“” ')
    if not 15 <= len(text) <= 300 or not text.endswith("?") or text.count("?") > 1 or BLANK in text:
        return None
    if question.answer.lower() in text.lower():
        return None
    return text


def phrase(questions: list[Question], pipeline: Pipeline, model: Any) -> tuple[list[Question], int]:
    """The questions with fill-in-the-blanks reworded where the rewording passes validation; and how many were."""
    out, reworded = [], 0
    for q in questions:
        text = reword(q, model)
        if text is not None:
            candidate = dataclasses.replace(q, question=f"In “{q.source.title}”: {text}")
            if validate(candidate, pipeline):  # the answer is in the passage, and the question retrieves it (top 5)
                q, reworded = candidate, reworded + 1
        out.append(q)
    return out, reworded
