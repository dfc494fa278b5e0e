"""QA datasets: one JSON object per line, each checked against the corpus; bad lines are reported, not fatal."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ragbot.corpus.folder import corpus_files, document_text
from ragbot.errors import RagbotError
from ragbot.files import read_lines
from ragbot.readers.cache import ExtractCache

QUESTION_TYPES = ("factoid", "numeric", "list", "explanatory", "multi_doc", "unanswerable")
REQUIRED = ("id", "question", "type", "answer", "key_facts", "evidence")


@dataclass(frozen=True)
class Evidence:
    doc: str
    quote: str
    start: int  # offsets of the quote in the corpus file's text
    end: int


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    type: str
    answer: str
    key_facts: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    subtype: str = ""  # e.g. an unanswerable question's kind: off_topic, near_miss, wrong_country, after_brief
    position: int = 0  # 1-based place among its file's questions: odd places calibrate, even ones report (see `half`)
    reviewed: bool = True  # False: a draft (`ragbot eval --draft`) no person has checked yet

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    @property
    def half(self) -> str:
        """ "odd" or "even": thresholds are chosen on the odd half of each file and reported on the even half."""
        return "odd" if self.position % 2 else "even"


@dataclass
class Dataset:
    path: Path
    items: list[EvalItem]
    errors: list[str]  # "FILE:LINE: what is wrong", one per rejected line


def _parse(obj: object, texts: dict[str, str]) -> EvalItem:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise ValueError(f"missing field {', '.join(missing)}")
    if not isinstance(obj["question"], str) or not obj["question"].strip():
        raise ValueError("question must be a non-empty string")
    if obj["type"] not in QUESTION_TYPES:
        raise ValueError(f"type {obj['type']!r} is not one of {', '.join(QUESTION_TYPES)}")
    if not isinstance(obj["key_facts"], list) or not all(isinstance(f, str) for f in obj["key_facts"]):
        raise ValueError("key_facts must be a list of strings")
    if not isinstance(obj["evidence"], list):
        raise ValueError("evidence must be a list")
    evidence = []
    for e in obj["evidence"]:
        if not isinstance(e, dict) or not isinstance(e.get("doc"), str) or not isinstance(e.get("quote"), str):
            raise ValueError('each evidence entry needs "doc" and "quote" strings')
        doc = e["doc"] if e["doc"] in texts else _by_stem(texts).get(Path(e["doc"]).stem)
        if doc is None:
            raise ValueError(f"evidence document {e['doc']} is not in the corpus")
        found = find_quote(texts[doc], e["quote"])
        if found is None:
            raise ValueError(f"quote not found in {doc}: {e['quote'][:60]!r}")
        evidence.append(Evidence(doc, e["quote"], *found))
    if obj["type"] == "unanswerable" and evidence:
        raise ValueError("an unanswerable question cannot have evidence")
    if obj["type"] != "unanswerable" and not evidence:
        raise ValueError("an answerable question needs evidence")
    subtype = obj.get("subtype", "")
    if not isinstance(subtype, str):
        raise ValueError("subtype must be a string")
    reviewed = obj.get("reviewed", True)
    if not isinstance(reviewed, bool):
        raise ValueError("reviewed must be true or false")
    return EvalItem(
        str(obj["id"]), obj["question"], obj["type"], str(obj["answer"]), tuple(obj["key_facts"]), tuple(evidence), subtype,
        reviewed=reviewed,
    )  # fmt: skip


def _by_stem(texts: dict[str, str]) -> dict[str, str]:
    """Documents by file name without its suffix, where only one has that stem: evidence naming brief.txt finds brief.pdf."""
    stems: dict[str, list[str]] = {}
    for name in texts:
        stems.setdefault(Path(name).stem, []).append(name)
    return {stem: names[0] for stem, names in stems.items() if len(names) == 1}


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where a quote is in a document's text: exactly, else comparing letters and digits only (the quote of a .txt
    brief in the text read from its PDF or web page, where line breaks, hyphens, note marks and markup differ)."""
    if not quote:
        return None
    start = text.find(quote)
    if start >= 0:
        return start, start + len(quote)
    needle = "".join(c for c in quote if c.isalnum())
    if not needle:
        return None
    marks = {i for m in re.finditer(r"<sup>\s*\d+\s*</sup>", text) for i in range(m.start(), m.end())}  # note marks
    where = [i for i, c in enumerate(text) if c.isalnum() and i not in marks]
    hay = "".join(text[i] for i in where)
    at = hay.find(needle)
    return (where[at], where[at + len(needle) - 1] + 1) if at >= 0 else None


def load_dataset(path: Path, corpus_dir: Path, index_dir: Path | None = None) -> Dataset:
    """Parse and check every line; a bad line is recorded with its number and skipped.

    Quotes are found in each document's text as the index reads it (``index_dir``'s extracted-text cache for a PDF or web page).
    """
    lines = read_lines(path, "dataset")
    cache = ExtractCache.beside(index_dir) if index_dir is not None else None
    texts = {}
    for p in corpus_files(corpus_dir):
        try:
            texts[p.name] = document_text(p, cache).text
        except RagbotError:
            continue  # a file the index cannot read either: its questions are reported as not in the corpus
    if not texts:
        raise RagbotError(f"no document in {corpus_dir}/ could be read")
    items: list[EvalItem] = []
    errors: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = _parse(json.loads(line), texts)
            if item.id in seen:
                raise ValueError(f"duplicate id {item.id}")
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{n}: not JSON ({exc.msg})")
            continue
        except ValueError as exc:
            errors.append(f"{path}:{n}: {exc}")
            continue
        seen.add(item.id)
        items.append(replace(item, position=len(items) + 1))
    if not items:
        raise RagbotError(f"dataset {path} has no usable questions" + (f" ({errors[0]})" if errors else ""))
    return Dataset(path, items, errors)


def unreviewed_warning(dataset: Dataset) -> str | None:
    """One line when the set still holds drafts no person has checked ("reviewed": false), else None."""
    drafts = [i for i in dataset.items if not i.reviewed]
    if not drafts:
        return None
    return (f"{len(drafts)} of {len(dataset.items)} questions in {dataset.path} are unreviewed drafts (\"reviewed\": false): "
            "check each question, answer, key facts and evidence, then set \"reviewed\": true")  # fmt: skip


def combine(datasets: list[Dataset]) -> Dataset:
    """Several datasets as one run (ids must differ); each question keeps its place in its own file."""
    if len(datasets) == 1:
        return datasets[0]
    items = [item for d in datasets for item in d.items]
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RagbotError(f"question ids repeat across the datasets: {', '.join(duplicates[:5])}")
    return Dataset(Path(" + ".join(str(d.path) for d in datasets)), items, [e for d in datasets for e in d.errors])
