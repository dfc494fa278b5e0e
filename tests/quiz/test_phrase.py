"""LLM wording of quiz questions: kept only when it is one question that hides the answer and still finds its passage."""

from __future__ import annotations

from types import SimpleNamespace

from ragbot.chain import Pipeline
from ragbot.engines.chat_model import chat_model
from ragbot.quiz.generate import generate, validate
from ragbot.quiz.phrase import phrase, reword


class ScriptedModel:
    """Stands in for the LLM service with a fixed reply, to check what is refused."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def invoke(self, _messages: object) -> SimpleNamespace:
        return SimpleNamespace(content=self.reply)


def test_a_rewording_that_gives_the_answer_away_or_is_not_one_question_is_refused(pipeline: Pipeline) -> None:
    q = next(q for q in generate(pipeline, n=6, types=("short",), seed=3).quiz.questions)
    assert reword(q, ScriptedModel(f"Which value is {q.answer}?")) is None
    assert reword(q, ScriptedModel("Which one? And when?")) is None
    assert reword(q, ScriptedModel("It happened then.")) is None
    assert reword(q, ScriptedModel("Which value does the brief give for this?")) == "Which value does the brief give for this?"


def test_the_bundled_model_rewords_questions_that_still_validate(pipeline: Pipeline) -> None:
    """Qwen, as `ragbot quiz --phrase` uses it: SmolLM2 rewords none of these, which would leave nothing to check."""
    questions = generate(pipeline, n=4, types=("short", "mcq"), seed=1).quiz.questions
    settings = pipeline.settings.model_copy(update={"llm_model": "qwen2.5-1.5b"})
    out, reworded = phrase(questions, pipeline, chat_model(settings, max_tokens=60))
    assert len(out) == len(questions) and reworded >= 2, [q.question for q in out]  # 3 of 4 here
    changed = [new for old, new in zip(questions, out, strict=True) if new.question != old.question]
    assert len(changed) == reworded
    for old, new in zip(questions, out, strict=True):
        assert (new.answer, new.source, new.kind) == (old.answer, old.source, old.kind), "only the wording changes"
    for new in changed:
        assert new.question.endswith("?") and "_____" not in new.question and new.answer.lower() not in new.question.lower()
        assert validate(new, pipeline)
