"""`ragbot eval --calibrate`: the judge's thresholds re-chosen on another library's QA set with the real model (Qwen), the
odd half choosing and the even half reported; ragbot.toml written only with --save, every other line kept."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.evaluation import calibrate as cal
from ragbot.evaluation.dataset import EvalItem, Evidence
from ragbot.settings import Settings

from ..conftest import ROOT
from ..test_cli import assert_one_line_error, ragbot

OTHER = ROOT / "tests" / "data" / "other_library"
TOML = """# Settings for another library
corpus_dir = "corpus"
top_k = 8  # fewer passages in the list

# the judge, as shipped
judge_answer_from = 0.5  # P(Yes) from this answers
judge_calibration = [
  2.629,
  -0.427,
]
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The other library, its QA set and a commented ragbot.toml in a folder of their own, indexed."""
    root = tmp_path_factory.mktemp("other")
    shutil.copytree(OTHER / "corpus", root / "corpus")
    shutil.copy(OTHER / "qa.jsonl", root / "qa.jsonl")
    (root / "ragbot.toml").write_text(TOML, encoding="utf-8")
    proc = ragbot("index", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.mark.timeout(3600)  # 28 questions through the Qwen judge, as long as its subprocess may take
def test_calibration_on_another_library_changes_the_thresholds_and_reports_the_held_out_half(library: Path):
    proc = ragbot("eval", "--calibrate", "--dataset", "qa.jsonl", "--out", "record", cwd=library, timeout=3600)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert (library / "ragbot.toml").read_text() == TOML, "nothing is written without --save"
    assert "nothing saved: add --save" in proc.stderr
    recorded = [json.loads(line) for line in (library / "record" / "results.jsonl").read_text().splitlines()]
    assert len(recorded) == 28 and sum(r["checks"].get("p_yes") is not None for r in recorded) >= 20, "the model judged them"
    config = json.loads((library / "record" / "metrics.json").read_text())["config"]["settings"]
    assert (config["judge_answer_from"], config["judge_abstain_below"]) == (0.0, 0.0), "recorded with the judge deciding nothing"
    assert sum(bool(r["checks"].get("passage_p_yes")) for r in recorded) >= 20, "and the top passages read alone for each"
    out = proc.stdout
    assert "QA set: qa.jsonl (28 questions; the odd half chooses, the even half is held out)" in out
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in out.splitlines() if line.split()[:1] in (["odd"], ["even"], ["all"])}
    assert set(rows) == {(h, w) for h in ("odd", "even", "all") for w in ("before", "after")}
    assert all(len(v) == 7 and all(x.replace(".", "").isdigit() for x in v) for v in rows.values()), rows

    # Replaying the recording (no model) gives the same choice, and --save writes it into ragbot.toml, keeping the rest.
    proc = ragbot("eval", "--calibrate", "record", "--save", cwd=library, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "wrote to ragbot.toml: judge_abstain_below = " in proc.stderr
    text = (library / "ragbot.toml").read_text()
    saved = tomllib.loads(text)
    shipped = Settings()
    before = (shipped.judge_abstain_below, shipped.judge_answer_from, shipped.claim_threshold, list(shipped.judge_calibration))
    after = (saved["judge_abstain_below"], saved["judge_answer_from"], saved["claim_threshold"], saved["judge_calibration"])
    assert after != before, "this library's own thresholds and calibration"
    assert saved["top_k"] == 8 and saved["corpus_dir"] == "corpus"
    for kept in ("# Settings for another library", "top_k = 8  # fewer passages in the list", "# the judge, as shipped"):
        assert kept in text, kept
    assert f"judge_answer_from = {saved['judge_answer_from']!r}  # P(Yes) from this answers" in text, "replaced in place"
    assert text.count("judge_calibration") == 1 and "chosen by `ragbot eval --calibrate` on qa.jsonl" in text
    loaded = Settings.load(config_file=library / "ragbot.toml")
    assert loaded.judge_answer_from == saved["judge_answer_from"] and list(loaded.judge_calibration) == saved["judge_calibration"]
    chosen = ("judge_", "claim_threshold", "passage_")
    settings_lines = [[line for line in o.splitlines() if line.startswith(chosen)] for o in (out, proc.stdout)]
    assert settings_lines[0] == settings_lines[1], "the replay chooses what the recording run chose"


def test_bad_calibrate_options_are_one_line(library: Path):
    assert_one_line_error(ragbot("eval", "--save", cwd=library), "--save goes with --calibrate")
    assert_one_line_error(ragbot("eval", "--calibrate", "--engine", "extractive", cwd=library), "--calibrate chooses the LLM engine's")
    assert_one_line_error(ragbot("eval", "--calibrate", "nowhere", cwd=library), "nowhere/metrics.json not found")
    assert_one_line_error(ragbot("eval", "--calibrate", "--compare", "a", "b", cwd=library), "separate modes")


def _item(n: int, answerable: bool) -> EvalItem:
    evidence = (Evidence("a.txt", "x", 0, 1),) if answerable else ()
    return EvalItem(f"i{n}", "q?", "factoid" if answerable else "unanswerable", "A fact.", ("fact",) if answerable else (), evidence,
                    position=n)  # fmt: skip


def _record(n: int, status: str, p: float | None, sentences: list[str], claims: list[float] | None = None) -> dict:
    checks = {} if p is None else {cal.SCORE: p}
    if claims is not None:
        checks[cal.CLAIMS] = claims
    return {"id": f"i{n}", "status": status, "sentences": sentences, "checks": checks}


def test_replay_follows_the_thresholds():
    floor = cal.Thresholds(0.0, 0.0, 0.0)
    item = _item(1, True)
    record = _record(1, "answered", 0.6, ["A fact here.", "Something else."], [0.9, 0.2])
    assert cal.replay(record, item, cal.Thresholds(0.5, 0.3, 0.0), floor) == ("correct", 1.0)
    assert cal.replay(record, item, cal.Thresholds(0.7, 0.3, 0.0), floor) == ("unsure", 0.0)
    assert cal.replay(record, item, cal.Thresholds(0.7, 0.65, 0.0), floor) == ("abstained", 0.0)
    assert cal.replay(record, item, cal.Thresholds(0.5, 0.3, 0.95), floor) == ("unsure", 0.0), "every sentence dropped"
    other = _record(1, "answered", 0.6, ["Something else.", "A fact here."], [0.9, 0.2])
    assert cal.replay(other, item, cal.Thresholds(0.5, 0.3, 0.5), floor) == ("wrong", 0.0), "the fact was in the dropped sentence"
    # An ordinary run (claim threshold 0.4) recorded the scores of sentences it dropped: they are skipped to line up.
    ordinary = _record(1, "answered", 0.6, ["A fact here."], [0.2, 0.9])
    assert cal.replay(ordinary, item, cal.Thresholds(0.5, 0.3, 0.5), cal.Thresholds(0.5, 0.41, 0.4)) == ("correct", 1.0)
    gated = _record(2, "abstained", None, [])
    assert cal.replay(gated, _item(2, False), cal.Thresholds(0.0, 0.0, 0.0), floor) == ("abstained", 0.0)
    read = {**record, "checks": {**record["checks"], cal.READINGS: {"p1": 0.3, "p2": None, "p3": 0.55}}}
    assert cal.replay(read, item, cal.Thresholds(0.5, 0.3, 0.0, 0.5), floor) == ("correct", 1.0), "the best passage reaches it"
    assert cal.replay(read, item, cal.Thresholds(0.5, 0.3, 0.0, 0.6), floor) == ("unsure", 0.0), "no passage read alone states it"
    assert cal.replay(record, item, cal.Thresholds(0.5, 0.3, 0.0, 0.9), floor) == ("correct", 1.0), "nothing read: no gate to replay"


def test_the_score_field_is_named_once():
    """Switching the judge's score (e.g. to a combined answerability score) is one line: SCORE; every reader goes through it."""
    record = {"checks": {cal.SCORE: 0.7, "p_yes_old": 0.1}}
    assert cal.score_of(record) == 0.7
    source = (ROOT / "src" / "ragbot" / "evaluation").glob("*.py")
    uses = {p.name for p in source if '"p_yes"' in p.read_text()}
    assert uses == {"calibrate.py"}, uses


def test_toml_is_updated_in_place_keeping_every_other_line(tmp_path):
    from ragbot.settings_file import save_settings

    path = tmp_path / "ragbot.toml"
    path.write_text(TOML + "\n[extra]\nkey = 1\n", encoding="utf-8")
    values = {"judge_answer_from": 0.55, "judge_calibration": [1.5, -0.2], "judge_abstain_below": 0.3}
    text = save_settings(path, values, "chosen here")
    assert tomllib.loads(text) == {**tomllib.loads(TOML + "\n[extra]\nkey = 1\n"), **values}
    lines = text.splitlines()
    assert "judge_answer_from = 0.55  # P(Yes) from this answers" in lines and "judge_calibration = [1.5, -0.2]" in lines
    assert lines.index("judge_abstain_below = 0.3") < lines.index("[extra]"), "a new key goes before the first table"
    assert "# chosen here" in lines and "top_k = 8  # fewer passages in the list" in lines
    new = tmp_path / "new.toml"
    assert tomllib.loads(save_settings(new, {"judge_answer_from": 0.6}, "c")) == {"judge_answer_from": 0.6}
    broken = tmp_path / "broken.toml"
    broken.write_text("top_k = [\n", encoding="utf-8")
    with pytest.raises(RagbotError, match="not valid TOML"):
        save_settings(broken, {"judge_answer_from": 0.6}, "c")
    assert broken.read_text() == "top_k = [\n", "left as it was"
    with pytest.raises(RagbotError, match="invalid setting"):
        save_settings(path, {"judge_answer_from": 0.2, "judge_abstain_below": 0.9}, "c", check=Settings.from_dict)
    assert tomllib.loads(path.read_text())["judge_answer_from"] == 0.55, "an invalid result is never written"
