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


def test_quotes_are_found_in_extracted_text_and_evidence_finds_a_rendering_by_stem(tmp_path):
    """A QA set written for brief.txt works on brief.pdf: the document by its stem, the quote across line breaks and hyphens."""
    from ragbot.evaluation.dataset import find_quote

    text = "# Title\n\nThe ADMM is the highest decision-\nmaking body;<sup>1</sup> it reports to the Summit.\n"
    assert find_quote(text, "highest decision-making body; it reports") == (text.index("highest"), text.index(" to the Summit"))
    assert find_quote(text, "The ADMM") == (9, 17) and find_quote(text, "not there") is None and find_quote(text, "") is None
    from tests.readers.conftest import shipped_brief
    from tests.readers.render import render_pdf

    name = "2025-07_fulcrum_asean-rok-security-dual-contingency"
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / f"{name}.pdf").write_bytes(render_pdf(shipped_brief(f"{name}.txt")))
    quote = "About 90 per cent of South Korea’s energy supplies are shipped via the Malacca Strait"
    line = {"id": "q1", "question": "What share?", "type": "factoid", "answer": "About 90 per cent", "key_facts": ["90 per cent"],
            "evidence": [{"doc": f"{name}.txt", "quote": quote}]}  # fmt: skip
    (tmp_path / "qa.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    dataset = load_dataset(tmp_path / "qa.jsonl", tmp_path / "corpus", tmp_path / "index")
    (evidence,) = dataset.items[0].evidence
    assert evidence.doc == f"{name}.pdf" and not dataset.errors
    assert (tmp_path / "index" / "extracted").is_dir()  # read once, into the index's cache
