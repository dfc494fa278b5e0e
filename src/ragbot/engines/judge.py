"""The answerability judge: the chat model's probability of "Yes" to "do these passages state the answer?".

The model's free text is a weak signal of whether the briefs answer a question; its token
probabilities are a strong one. The judge asks one question with one generated token and reads
P(Yes) from the top log-probabilities, for the whole question (``run``) and for each written
sentence against the passage it cites (``claim``). The question's prompt opens with the written
answer's prompt (same system prompt, passages and question), so llama.cpp's prompt cache makes
the second of the two calls nearly free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragbot.answer import Verdict

ANSWERABLE_PROMPT = (
    "Do the passages state the answer to this question? If they only discuss the topic without giving the answer, reply No. "
    "Reply Yes or No."
)
CLAIM_PROMPT = (
    "Passage: {passage}\n\nSentence: {claim}\n\nDoes the passage state this sentence, with the same names, numbers and dates? "
    "Reply Yes or No."
)
_YES, _NO = frozenset({"yes", "y"}), frozenset({"no", "n"})


def calibrated(calibration: tuple[float, float], x: float) -> float:
    """sigmoid(a x + b) for calibration (a, b): a score mapped to a probability by a fitted logistic regression."""
    a, b = calibration
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, a * x + b))))


@dataclass(frozen=True)
class Judgement:
    """P(Yes) over P(Yes) + P(No) for one prompt; None when neither word was among the likeliest tokens."""

    p_yes: float | None


def p_yes(top_logprobs: Sequence[dict[str, Any]]) -> float | None:
    """The share of the yes-like tokens' probability in yes- plus no-like tokens' ("Yes", " yes", "NO", ...)."""
    yes = no = 0.0
    for entry in top_logprobs:
        word = str(entry.get("token", "")).strip().strip(".,!:").lower()
        p = math.exp(float(entry.get("logprob", -math.inf)))
        if word in _YES:
            yes += p
        elif word in _NO:
            no += p
    return yes / (yes + no) if yes + no > 0 else None


class AnswerabilityJudge:
    """Reads P(Yes) from a LangChain chat model that serves log-probabilities (llama.cpp, OpenAI-compatible servers)."""

    def __init__(self, model: Any, top_logprobs: int = 10) -> None:
        if not 1 <= top_logprobs <= 20:
            raise ValueError(f"top_logprobs must be between 1 and 20, got {top_logprobs}")
        self._model = model.bind(logprobs=True, top_logprobs=top_logprobs, max_tokens=1, temperature=0.0)

    def first_tokens(self, messages: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """The likeliest first tokens of the reply to ``messages``, with their log-probabilities (empty if none came back)."""
        reply = self._model.invoke(messages)
        content = (reply.response_metadata.get("logprobs") or {}).get("content") or []
        return (content[0].get("top_logprobs") or [content[0]]) if content else []

    def ask(self, messages: list[tuple[str, str]]) -> Judgement:
        """P(Yes) as the first token of the reply to ``messages``."""
        return Judgement(p_yes(self.first_tokens(messages)))

    def run(self, messages: list[tuple[str, str]]) -> Judgement:
        """Whether the numbered passages in the written answer's ``messages`` state the answer to its question.

        The judge's question is appended to the last (user) message, so the two prompts share their opening tokens.
        """
        *head, (role, last) = messages
        return self.ask([*head, (role, f"{last}\n\n{ANSWERABLE_PROMPT}")])

    def claim(self, system_prompt: str, claim: str, passage: str) -> Judgement:
        """Whether ``passage`` states the written sentence ``claim``: alone with the sentence, a swapped fact stands out.

        The written answer's system prompt opens it too, so the runtime's cache of it survives the check.
        """
        return self.ask([("system", system_prompt), ("human", CLAIM_PROMPT.format(passage=passage, claim=claim))])


class AnswerabilityGate:
    """Turns P(Yes) into a status: below ``abstain_below`` abstains, below ``answer_from`` is unsure, else answers.

    ``calibration`` (a, b) maps P(Yes) to a calibrated confidence, sigmoid(a * logit(p) + b), fitted
    on held-out questions by bench/calibrate_judge.py; (1, 0) keeps P(Yes) as it is.
    """

    def __init__(self, abstain_below: float, answer_from: float, calibration: tuple[float, float] = (1.0, 0.0)) -> None:
        if not 0.0 <= abstain_below <= answer_from <= 1.0:
            raise ValueError(f"need 0 <= abstain_below ({abstain_below}) <= answer_from ({answer_from}) <= 1")
        self.abstain_below, self.answer_from, self.calibration = abstain_below, answer_from, calibration

    def confidence(self, p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        return calibrated(self.calibration, math.log(p / (1 - p)))

    def run(self, judgement: Judgement) -> Verdict:
        # Neither word among the likeliest tokens: the model cannot say, which is not an answer.
        p = 0.5 * (self.abstain_below + self.answer_from) if judgement.p_yes is None else judgement.p_yes
        status = "abstained" if p < self.abstain_below else "unsure" if p < self.answer_from else "answered"
        return Verdict(status, self.confidence(p), judgement.p_yes)
