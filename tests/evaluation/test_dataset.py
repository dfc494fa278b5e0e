from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.evaluation.dataset import QUESTION_TYPES, load_dataset

from ..conftest import CORPUS, ROOT

SHIPPED = ROOT / "eval" / "briefs_qa.jsonl"


def test_the_shipped_eval_set_is_valid_and_covers_the_corpus():
    lines = [line for line in SHIPPED.read_text(encoding="utf-8").splitlines() if line.strip()]
    dataset = load_dataset(SHIPPED, CORPUS)
    assert dataset.errors == [] and len(dataset.items) == len(lines) >= 80
    ids = [json.loads(line)["id"] for line in lines]
    assert len(set(ids)) == len(ids)
    types = Counter(i.type for i in dataset.items)
    assert set(types) == set(QUESTION_TYPES)
    assert 0.07 <= types["unanswerable"] / len(dataset.items) <= 0.15
    docs = Counter(e.doc for i in dataset.items for e in i.evidence)
    assert set(docs) == {p.name for p in CORPUS.glob("*.txt")}
    for item in dataset.items:
        assert 1 <= len(item.key_facts) <= 4 or not item.answerable
        if item.type == "multi_doc":
            assert len({e.doc for e in item.evidence}) >= 2, item.id
        for e in item.evidence:  # every quote is an exact substring of its file
            assert (CORPUS / e.doc).read_text(encoding="utf-8")[e.start : e.end] == e.quote


def test_bad_lines_are_named_and_the_rest_kept(tmp_path: Path):
    good = {"id": "g1", "question": "When?", "type": "factoid", "answer": "1989", "key_facts": ["1989"],
            "evidence": [{"doc": "2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt", "quote": "in 1989"}]}  # fmt: skip
    lines = [
        json.dumps(good),
        "{this is not json",
        json.dumps({k: v for k, v in good.items() if k != "key_facts"} | {"id": "g2"}),
        json.dumps(good | {"id": "g3", "evidence": [{"doc": good["evidence"][0]["doc"], "quote": "not in the brief at all"}]}),
        json.dumps(good | {"id": "g4", "type": "trivia"}),
        json.dumps(good),  # duplicate id
        json.dumps(good | {"id": "g5", "question": "And then?"}),
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = load_dataset(path, CORPUS)
    assert [i.id for i in dataset.items] == ["g1", "g5"]
    assert dataset.errors == [
        f"{path}:2: not JSON (Expecting property name enclosed in double quotes)",
        f"{path}:3: missing field key_facts",
        f"{path}:4: quote not found in 2024-11_asan_asean-korea-comprehensive-strategic-partnership.txt: 'not in the brief at all'",
        f"{path}:5: type 'trivia' is not one of factoid, numeric, list, explanatory, multi_doc, unanswerable",
        f"{path}:6: duplicate id g1",
    ]


def test_a_dataset_with_nothing_usable_is_an_error(tmp_path: Path):
    path = tmp_path / "qa.jsonl"
    path.write_text("nope\n", encoding="utf-8")
    with pytest.raises(RagbotError, match="no usable questions"):
        load_dataset(path, CORPUS)
    with pytest.raises(RagbotError, match="not found"):
        load_dataset(tmp_path / "missing.jsonl", CORPUS)
