"""Draft QA items from the library for a person to review: the quiz generator's validated facts as questions.

Each draft starts from a fact the quiz generator found and validated (``quiz.generate``: the key is in
its passage, and the sentence with the key blanked retrieves that passage first). The local LLM words
it as a direct question, kept only when that question still retrieves the passage and does not give
the key away (``quiz.phrase``); otherwise the fill-in-the-blank stands. The key is the key fact, the
sentence the answer and the evidence, quoted exactly as the corpus file has it. Every draft says
``"reviewed": false`` until a person has checked it, and ``ragbot eval`` warns while any is left.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragbot.chain import Pipeline
from ragbot.corpus.folder import corpus_files, decode
from ragbot.errors import RagbotError
from ragbot.evaluation.external import loose
from ragbot.files import atomic_write
from ragbot.quiz.generate import BLANK, generate
from ragbot.quiz.model import Question

_STATEMENT = re.compile(r"“([^“]+)”$")  # the statement a fill-in-the-blank ends with
MAX_DRAFTS = 200


@dataclass
class Drafts:
    items: list[dict[str, Any]]
    facts: int  # validated facts the quiz generator gave
    reworded: int  # questions the LLM worded directly (the rest are fill-in-the-blanks)
    unquotable: int  # facts whose sentence is not in its file as written (a markup or line-break difference): skipped


def _raw_quote(sentence: str, raw: str) -> str | None:
    """The sentence exactly as the file has it (line breaks, markup), or None when the file words it differently."""
    if sentence in raw:
        return sentence
    found = loose(sentence).search(raw)
    return found.group(0) if found else None


def _sentence(q: Question) -> str | None:
    found = _STATEMENT.search(q.question)
    if found is None or found.group(1).count(BLANK) != 1:
        return None
    return found.group(1).replace(BLANK, q.answer)


def to_item(q: Question, fill_in: Question, quote: str, n: int) -> dict[str, Any]:
    """One QA line: the (re)worded question, the source sentence as answer and evidence, the key as the key fact."""
    sentence = _sentence(fill_in) or quote
    wording = "fill-in-the-blank" if q.question == fill_in.question else "llm"
    return {
        "id": f"draft-{n:03d}",
        "question": q.question,
        "type": "numeric" if q.kind == "number" else "factoid",
        "answer": " ".join(sentence.split()),
        "key_facts": [q.answer],
        "evidence": [{"doc": q.source.doc_id, "quote": quote}],
        "reviewed": False,
        "draft": {"passage_id": q.source.passage_id, "kind": q.kind, "wording": wording},
    }


def draft(pipeline: Pipeline, n: int, model: Any | None = None, docs: set[str] | None = None, seed: int = 0) -> Drafts:
    """n drafts spread over the briefs and their sections (fewer when the library has fewer usable facts)."""
    if not 1 <= n <= MAX_DRAFTS:
        raise RagbotError(f"--draft takes 1 to {MAX_DRAFTS} questions, not {n}")
    raw = {p.name: decode(p.read_bytes(), p) for p in corpus_files(pipeline.settings.corpus_dir)}
    generated = generate(pipeline, n=min(MAX_DRAFTS, n + n // 4 + 2), types=("short",), docs=docs, seed=seed)  # spares for unquotable
    fill_ins = generated.quiz.questions
    quotes = {}
    for q in fill_ins:
        sentence = _sentence(q)
        quote = _raw_quote(sentence, raw.get(q.source.doc_id, "")) if sentence else None
        if quote is not None:
            quotes[q.id] = quote
    usable = [q for q in fill_ins if q.id in quotes][:n]
    worded, reworded = usable, 0
    if model is not None:
        from ragbot.quiz.phrase import phrase

        worded, reworded = phrase(usable, pipeline, model)
    items = [to_item(q, f, quotes[f.id], i) for i, (q, f) in enumerate(zip(worded, usable, strict=True), 1)]
    return Drafts(items, len(fill_ins), reworded, len(fill_ins) - len(quotes))


def write(path: Path, items: list[dict[str, Any]]) -> None:
    """The drafts as a QA set, one JSON object a line, written atomically."""
    text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise RagbotError(f"cannot write {path}: {exc.strerror}") from None
