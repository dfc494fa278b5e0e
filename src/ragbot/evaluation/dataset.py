"""QA datasets: one JSON object per line, each checked against the corpus; bad lines are reported, not fatal."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from ragbot.corpus import corpus_files, decode
from ragbot.errors import RagbotError
from ragbot.files import read_lines

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
        if e["doc"] not in texts:
            raise ValueError(f"evidence document {e['doc']} is not in the corpus")
        start = texts[e["doc"]].find(e["quote"])
        if start < 0 or not e["quote"]:
            raise ValueError(f"quote not found in {e['doc']}: {e['quote'][:60]!r}")
        evidence.append(Evidence(e["doc"], e["quote"], start, start + len(e["quote"])))
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


def load_dataset(path: Path, corpus_dir: Path) -> Dataset:
    """Parse and check every line; a bad line is recorded with its number and skipped."""
    lines = read_lines(path, "dataset")
    texts = {p.name: decode(p.read_bytes(), p) for p in corpus_files(corpus_dir)}
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
