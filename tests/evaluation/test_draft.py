"""`ragbot eval --draft N`: QA items from the library's validated facts, worded by the LLM (SmolLM2 here, for the plumbing),
marked unreviewed; at least 90% pass the dataset checks as written, and `ragbot eval` warns while any is unreviewed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragbot.corpus.folder import corpus_files, decode
from ragbot.evaluation.dataset import load_dataset

from ..conftest import CORPUS, ROOT
from ..test_cli import assert_one_line_error, ragbot


@pytest.mark.timeout(1800)  # its subprocess alone may take 900 s
def test_drafts_pass_the_dataset_checks_unedited_and_are_marked_for_review(pipeline, settings, tmp_path: Path):
    out = tmp_path / "drafts.jsonl"
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_LLM_MODEL": "smollm2-135m"}
    proc = ragbot("eval", "--draft", "12", "--out", str(out), cwd=ROOT, env=env, timeout=900)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12
    drafts = [json.loads(line) for line in lines]
    checked = load_dataset(out, CORPUS)
    assert len(checked.items) >= 0.9 * len(drafts) and not checked.errors, checked.errors
    assert f"{len(checked.items)} pass the dataset checks" in proc.stderr
    raw = {p.name: decode(p.read_bytes(), p) for p in corpus_files(CORPUS)}
    for d in drafts:
        assert d["reviewed"] is False and d["type"] in ("factoid", "numeric") and len(d["key_facts"]) == 1
        (evidence,) = d["evidence"]
        assert evidence["quote"] in raw[evidence["doc"]], "an exact substring of its file"
        assert d["key_facts"][0].lower() in " ".join(evidence["quote"].split()).lower(), "the key fact is in its evidence"
        assert d["key_facts"][0].lower() not in d["question"].lower().replace("_____", ""), "the question does not give it away"
        top5 = [h.passage.passage_id for h in pipeline.retriever.run(d["question"].replace("_____", " "), k=5).hits]
        assert d["draft"]["passage_id"] in top5, f"the question retrieves its passage: {d['question']}"
    assert len({d["id"] for d in drafts}) == 12 and len({d["evidence"][0]["quote"] for d in drafts}) == 12
    assert len({d["evidence"][0]["doc"] for d in drafts}) >= 4, "spread over the briefs"

    proc = ragbot("eval", "--dataset", str(out), "--out", str(tmp_path / "run"), cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f'ragbot: warning: 12 of 12 questions in {out} are unreviewed drafts ("reviewed": false)' in proc.stderr
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text("".join(json.dumps({**d, "reviewed": True}) + "\n" for d in drafts), encoding="utf-8")
    proc = ragbot("eval", "--dataset", str(reviewed), "--out", str(tmp_path / "run2"), cwd=ROOT, env=env)
    assert proc.returncode == 0 and "unreviewed" not in proc.stderr, proc.stderr


def test_bad_draft_options_are_one_line(settings, tmp_path: Path):
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir)}
    assert_one_line_error(ragbot("eval", "--draft", "5", cwd=ROOT, env=env), "--draft N needs --out FILE")
    proc = ragbot("eval", "--draft", "0", "--out", str(tmp_path / "d.jsonl"), cwd=ROOT, env={**env, "RAGBOT_LLM_MODEL": "nothing.gguf"})
    assert_one_line_error(proc, "--draft takes 1 to 200 questions, not 0")
    bad = tmp_path / "bad.jsonl"
    line = {"id": "x", "question": "q?", "type": "unanswerable", "answer": "", "key_facts": [], "evidence": [], "reviewed": "no"}
    bad.write_text(json.dumps(line) + "\n")
    proc = ragbot("eval", "--dataset", str(bad), cwd=ROOT, env=env)
    assert_one_line_error(proc, "reviewed must be true or false")
