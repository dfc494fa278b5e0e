"""Paired bootstrap intervals: the same figures as the report, and the right intervals (bench/bootstrap_time.py times them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from ragbot.evaluation.bootstrap import RESAMPLES, SEED, _nanpercentile_rows, paired, ratios
from ragbot.evaluation.comparison import compare
from ragbot.evaluation.dataset import combine, load_dataset
from ragbot.evaluation.report import aggregate, summarize_run
from ragbot.evaluation.runner import run

from ..conftest import CORPUS, ROOT


@pytest.fixture(scope="module")
def full_run(pipeline, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """The instant engine on all 142 shipped questions, as `ragbot eval` writes it."""
    out = tmp_path_factory.mktemp("full")
    dataset = combine([load_dataset(ROOT / "eval" / name, CORPUS) for name in ("briefs_qa.jsonl", "unanswerable_qa.jsonl")])
    records = run(pipeline, dataset.items, out, progress=False)
    summarize_run(out, {"label": "full", "dataset": str(dataset.path)}, records, echo=lambda _m: None)
    return out, records


def worse(records: list[dict]) -> list[dict]:
    """Every third question abstained instead, and every answer 1.5 times slower (also bench/bootstrap_time.py's comparison)."""
    changed = copy.deepcopy(records)
    for r in changed[::3]:
        r["scores"].update(abstained=True, outcome="abstained")
        if "key_fact_recall" in r["scores"]:
            r["scores"]["key_fact_recall"] = 0.0
    for r in changed:
        r["scores"]["latency_ms"] *= 1.5
    return changed


def test_the_figures_are_the_reports_and_the_intervals_are_a_bootstrap_of_them(full_run):
    _, records = full_run
    other = worse(records)
    diffs = {d.metric: d for d in paired(records, other)}
    for recs, side in ((records, "a"), (other, "b")):
        report = aggregate(recs)
        for name, d in diffs.items():
            assert getattr(d, side) == pytest.approx(report[name]), name
    assert len(records) == 142 and {"wrong_answer_rate", "precision_of_answered", "abstention", "hit@1", "latency_p50_ms"} <= set(diffs)
    # A slow reference: the same 1,000 draws (same seed), each metric recomputed question by question.
    n = len(records)
    draws = np.random.default_rng(SEED).integers(0, n, size=(RESAMPLES, n))
    for name in ("false_abstention", "precision_of_answered", "key_fact_recall"):
        ra, rb = ratios(records)[name], ratios(other)[name]
        ref = [rb.num[d].sum() / rb.den[d].sum() - ra.num[d].sum() / ra.den[d].sum() for d in draws]
        low, high = np.percentile(ref, [2.5, 97.5])
        assert (diffs[name].low, diffs[name].high) == pytest.approx((low, high)), name
    assert not diffs["false_abstention"].includes_zero and diffs["false_abstention"].low > 0, "a third more abstentions is no noise"
    assert diffs["hit@1"].includes_zero and (diffs["hit@1"].low, diffs["hit@1"].high) == (0.0, 0.0), "retrieval did not change"
    assert diffs["false_abstention"].higher == sum(1 for r in records[::3] if r["type"] != "unanswerable" and not r["scores"]["abstained"])
    assert diffs["false_abstention"].lower == 0 and diffs["latency_p50_ms"].low > 0 and diffs["latency_p50_ms"].higher is None
    again = {d.metric: d for d in paired(records, other)}
    assert again == diffs, "seeded: the same intervals every time"


def test_row_percentiles_match_numpy():
    values = np.random.default_rng(3).random((50, 30)) * 100
    values[values > 80] = np.nan
    for q in (50, 95):
        assert _nanpercentile_rows(values, q) == pytest.approx(np.nanpercentile(values, q, axis=1))


def test_compare_shows_every_interval_and_marks_the_ones_holding_zero(full_run, tmp_path):
    out, records = full_run
    other = tmp_path / "other"
    other.mkdir()
    summarize_run(other, {"label": "worse", "dataset": "same"}, worse(records), echo=lambda _m: None)
    (other / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in worse(records)))
    text = compare(out, other)
    rows = {line.split()[0]: line for line in text.splitlines() if line and line.split()[0] in ("false_abstention", "hit@1", "mrr")}
    assert "includes 0" not in rows["false_abstention"] and "includes 0" in rows["hit@1"] and "includes 0" in rows["mrr"]
    assert "On the 142 questions both runs answered: a paired bootstrap (1000 resamples" in text
