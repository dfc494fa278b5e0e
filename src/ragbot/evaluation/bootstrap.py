"""Paired bootstrap intervals for the difference of two runs' metrics on the same questions.

Every headline metric is a ratio of per-question sums (a mean over its questions, or correct answers
over answers offered) or a latency percentile. One draw of the questions with replacement is shared by
both runs (the pairing) and by every metric: 1,000 draws are one matrix of counts, each ratio a
matrix-vector product, so a 142-question comparison takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragbot.evaluation.metrics import OUTCOMES

RESAMPLES, SEED, LEVEL = 1000, 0, 0.95
_MEANS = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10", "evidence_coverage", "key_fact_recall", "token_f1",
          "citation_support", "citation_precision")  # fmt: skip
_PERCENTILES = {"latency_ms": "latency", "first_token_ms": "first_token", "judgement_ms": "judgement"}


@dataclass(frozen=True)
class Difference:
    """One metric of runs A and B on their common questions, B - A with its interval, and how many questions moved."""

    metric: str
    a: float | None
    b: float | None
    low: float | None = None  # the 95% interval of B - A
    high: float | None = None
    higher: int | None = None  # questions whose own value is higher in B (None: the metric has no per-question value)
    lower: int | None = None

    @property
    def diff(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def includes_zero(self) -> bool:
        """The interval holds 0: no difference this set of questions can tell from noise."""
        return self.low is not None and self.high is not None and self.low <= 0 <= self.high

    def interval(self) -> str:
        """ "[low, high]", followed by "includes 0" when it does."""
        if self.low is None or self.high is None:
            return "n/a"
        return f"[{signed(self.low)}, {signed(self.high)}]" + (" includes 0" if self.includes_zero else "")


def signed(value: float) -> str:
    """A difference with its sign: three decimals for shares and scores, one for milliseconds."""
    return f"{value:+.3f}" if abs(value) < 10 else f"{value:+.1f}"


@dataclass(frozen=True)
class _Ratio:
    """A metric as sum(num) / sum(den) over questions; per_question says the den is the same set in both runs."""

    num: np.ndarray
    den: np.ndarray
    per_question: bool


def ratios(records: Sequence[dict[str, Any]]) -> dict[str, _Ratio]:
    """Each headline metric of report.aggregate as per-question numerators and denominators."""
    ok = ["error" not in r for r in records]
    scores = [r["scores"] if "error" not in r else {} for r in records]
    answerable = np.array([o and r["type"] != "unanswerable" for o, r in zip(ok, records, strict=True)], dtype=float)
    unanswerable = np.array([o and r["type"] == "unanswerable" for o, r in zip(ok, records, strict=True)], dtype=float)
    outcome = [s.get("outcome") for s in scores]
    everyone = np.array(ok, dtype=float)
    abstained = np.array([bool(s.get("abstained")) for s in scores], dtype=float)
    out: dict[str, _Ratio] = {}
    for name in OUTCOMES:
        out[f"{name}_share"] = _Ratio(np.array([o == name for o in outcome], dtype=float), everyone, True)
    out["wrong_answer_rate"] = out["wrong_share"]
    offered = np.array([o in ("correct", "partial", "wrong") for o in outcome], dtype=float)
    out["precision_of_answered"] = _Ratio(np.array([o == "correct" for o in outcome], dtype=float), offered, False)
    out["wrong_among_answered"] = _Ratio(out["wrong_share"].num, offered, False)
    out["abstention"] = _Ratio(abstained * unanswerable, unanswerable, True)
    out["false_abstention"] = _Ratio(abstained * answerable, answerable, True)
    for name in _MEANS:
        values = [s.get(name) for s, a in zip(scores, answerable, strict=True) if a]
        if values and None not in values:  # n/a for a system that returned no sources in a known shape
            out[name] = _Ratio(np.array([float(s.get(name) or 0.0) for s in scores]) * answerable, answerable, True)
    return out


def _percentile_values(records: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if r["scores"].get(key) is None else r["scores"][key] for r in records], dtype=float)


def paired(
    records_a: Sequence[dict[str, Any]],
    records_b: Sequence[dict[str, Any]],
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> list[Difference]:
    """Every headline metric of A and B on the questions both ran, with a paired percentile-bootstrap interval of B - A."""
    by_b = {r["id"]: r for r in records_b}
    ids = [r["id"] for r in records_a if r["id"] in by_b]
    by_a = {r["id"]: r for r in records_a}
    a_rows, b_rows = [by_a[i] for i in ids], [by_b[i] for i in ids]
    n = len(ids)
    if not n:
        return []
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    counts = np.bincount((draws + n * np.arange(resamples)[:, None]).ravel(), minlength=resamples * n).reshape(resamples, n).astype(float)
    tails = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    ra, rb = ratios(a_rows), ratios(b_rows)
    out = []
    for name in [m for m in ra if m in rb]:
        x, y = ra[name], rb[name]
        point_a, point_b = _ratio(x.num.sum(), x.den.sum()), _ratio(y.num.sum(), y.den.sum())
        low = high = higher = lower = None
        if point_a is not None and point_b is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                diffs = (counts @ y.num) / (counts @ y.den) - (counts @ x.num) / (counts @ x.den)
            low, high = (float(v) for v in np.nanpercentile(diffs, tails))
        if x.per_question:
            both = (x.den > 0) & (y.den > 0)
            higher, lower = int(np.sum(both & (y.num > x.num))), int(np.sum(both & (y.num < x.num)))
        out.append(Difference(name, point_a, point_b, low, high, higher, lower))
    for key, prefix in _PERCENTILES.items():
        va, vb = _percentile_values(a_rows, key), _percentile_values(b_rows, key)
        if np.isnan(va).all() or np.isnan(vb).all():
            continue
        for q, suffix in ((50, "p50"), (95, "p95")):
            ga, gb = va[draws], vb[draws]
            with np.errstate(invalid="ignore"):
                diffs = _nanpercentile_rows(gb, q) - _nanpercentile_rows(ga, q)
            low, high = (float(v) for v in np.nanpercentile(diffs, tails))
            point_a, point_b = float(np.nanpercentile(va, q)), float(np.nanpercentile(vb, q))
            out.append(Difference(f"{prefix}_{suffix}_ms", point_a, point_b, low, high))
    return out


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def _nanpercentile_rows(values: np.ndarray, q: float) -> np.ndarray:
    """The q-th percentile (linear, as metrics.percentile) of each row, ignoring NaN; vectorised by sorting NaN last."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    valid = np.sum(~np.isnan(values), axis=1)
    pos = (valid - 1) * q / 100
    lo = np.clip(np.floor(pos).astype(int), 0, values.shape[1] - 1)
    hi = np.clip(lo + 1, 0, np.maximum(valid - 1, 0))
    rows = np.arange(values.shape[0])
    a, b = ordered[rows, lo], ordered[rows, hi]
    result = a + (b - a) * (pos - np.floor(pos))
    return np.where(valid > 0, result, np.nan)
