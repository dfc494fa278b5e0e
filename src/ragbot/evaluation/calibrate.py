"""Re-choose the answerability judge's thresholds and calibration on a recorded run of your own QA set.

A run of the LLM engine records, per question, the judge's answerability score in the answer's
``checks`` (``SCORE``) and each written sentence's score that its passage states it (``checks.claims``).
Replaying a recording (no model runs) at candidate thresholds gives what users would have got:
a question scoring below ``judge_answer_from`` is not answered (unsure, or abstained below
``judge_abstain_below``), a sentence below ``claim_threshold`` is dropped, an answer with none left is
unsure, and the rest is scored by key facts as ``ragbot eval`` scores it. Questions at odd places of
each file choose; the even half is held out and reported. Budgets fixed in advance:

- ``judge_answer_from`` and ``claim_threshold``: the fewest wrong answers on the odd half while the
  checks add at most ``max_false`` to its false abstention; ties to the higher key-fact recall, then
  the lower thresholds;
- ``passage_answer_from``, with those fixed: the same rule, on the best P(Yes) of the top passages read
  alone (recorded in ``checks.passage_p_yes``), on a finer grid;
- ``judge_abstain_below``: "the briefs don't say" for at most ``max_abstain`` of the odd half's
  answerable questions, never above ``judge_answer_from``;
- ``judge_calibration``: a logistic regression of answerability on logit(score), odd half; its Brier
  score reported on the even half.

A run recorded with the judge deciding nothing (``RECORDING``) can be replayed at any threshold; an
ordinary run only at thresholds at or above its own (below them nothing was written).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from ragbot.engines.passage_reader import best_p_yes
from ragbot.errors import RagbotError
from ragbot.evaluation.dataset import EvalItem, load_dataset
from ragbot.evaluation.metrics import OUTCOMES, key_fact_recall, outcome
from ragbot.evaluation.runner import read_results

# The one place that names what is calibrated: the score each answer records in its checks, and the settings that act on it.
SCORE = "p_yes"  # the judge's answerability score in checks
CLAIMS = "claims"  # each written sentence's score that its cited passage states it, in checks
READINGS = "passage_p_yes"  # each of the top passages' P(Yes), read alone, in checks
ABSTAIN_BELOW, ANSWER_FROM, CALIBRATION, CLAIM = "judge_abstain_below", "judge_answer_from", "judge_calibration", "claim_threshold"
PASSAGE = "passage_answer_from"
SETTINGS = (ABSTAIN_BELOW, ANSWER_FROM, CLAIM, PASSAGE, CALIBRATION)
# A recording: the judge decides nothing (every judged question is written), every written sentence is scored and none
# dropped, and the top passages are read (a tiny passage threshold reads them and turns nothing away).
RECORDING: dict[str, float] = {ABSTAIN_BELOW: 0.0, ANSWER_FROM: 0.0, CLAIM: 0.000001, PASSAGE: 0.000001}
GRID = [round(float(x), 2) for x in np.arange(0.0, 0.96, 0.05)]
PASSAGE_GRID = [i / 100 for i in range(100)]  # one threshold chosen after the others: a fine grid costs little
MAX_FALSE, MAX_ABSTAIN = 0.05, 0.02

Pair = tuple[dict[str, Any], EvalItem]


@dataclass(frozen=True)
class Thresholds:
    answer_from: float
    abstain_below: float
    claim: float
    passage: float = 0.0

    @classmethod
    def of(cls, settings: dict[str, Any]) -> Thresholds:
        values = (settings.get(name, 0.0) for name in (ANSWER_FROM, ABSTAIN_BELOW, CLAIM, PASSAGE))
        return cls(*(float(v) for v in values))


@dataclass(frozen=True)
class Recording:
    """A recorded run's questions with their QA items, and the thresholds it ran with (the lowest it can replay)."""

    pairs: list[Pair]
    floor: Thresholds
    dataset: str

    def half(self, name: str) -> list[Pair]:
        return [(r, i) for r, i in self.pairs if i.half == name]


def load_recording(run_dir: Path, corpus_dir: Path) -> Recording:
    """The run's results joined to its dataset's items (re-read from the files it names)."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        raise RagbotError(f"{path} not found: is {run_dir} a `ragbot eval` output folder?")
    config = json.loads(path.read_text(encoding="utf-8"))["config"]
    items = {i.id: i for p in str(config["dataset"]).split(" + ") for i in load_dataset(Path(p), corpus_dir).items}
    pairs = [(r, items[r["id"]]) for r in read_results(run_dir) if r["id"] in items and "error" not in r]
    if not any(score_of(r) is not None for r, _ in pairs):
        raise RagbotError(f"{run_dir} records no {SCORE} in its checks: calibrate from a run of the LLM engine (--engine llm)")
    return Recording(pairs, Thresholds.of(config.get("settings") or {}), str(config["dataset"]))


def score_of(record: dict[str, Any]) -> float | None:
    value = (record.get("checks") or {}).get(SCORE)
    return None if value is None else float(value)


def best_reading(record: dict[str, Any]) -> float | None:
    """The highest P(Yes) of the passages read alone for this question (None when none were read)."""
    readings = (record.get("checks") or {}).get(READINGS)
    return best_p_yes(readings.values()) if readings else None


def _claims(record: dict[str, Any], floor: float) -> list[float | None]:
    """Each final sentence's claim score: the recorded scores of the sentences that survived the run's own threshold."""
    claims = (record.get("checks") or {}).get(CLAIMS)
    if claims is None:
        return [None] * len(record.get("sentences") or [])
    kept = [c for c in claims if c is None or c >= floor]
    return kept if len(kept) == len(record.get("sentences") or []) else [None] * len(record.get("sentences") or [])


def replay(record: dict[str, Any], item: EvalItem, t: Thresholds, floor: Thresholds) -> tuple[str, float]:
    """(outcome, key-fact recall) of one recorded question at thresholds t (at or above the run's own, floor)."""
    p = score_of(record)
    if record["status"] == "abstained" and p is None:  # the retrieval gate: the model was never asked
        return "abstained", 0.0
    if p is not None and p < t.abstain_below:
        return "abstained", 0.0
    if p is not None and p < t.answer_from:
        return "unsure", 0.0
    if (best := best_reading(record)) is not None and best < t.passage:
        return "unsure", 0.0
    if record["status"] != "answered":
        return record["status"], 0.0
    kept = [s for s, c in zip(record["sentences"], _claims(record, floor.claim), strict=True) if c is None or c >= t.claim]
    if not kept:
        return "unsure", 0.0
    text = " ".join(kept)
    return outcome("answered", text, item.key_facts, item.answerable), key_fact_recall(text, item.key_facts) if item.answerable else 0.0


def figures(pairs: list[Pair], t: Thresholds, floor: Thresholds) -> dict[str, float]:
    """What users would have got at thresholds t: the outcome shares, wrong-answer rate, abstention, key facts, precision."""
    results = [(item, *replay(r, item, t, floor)) for r, item in pairs]
    answerable = [(o, k) for item, o, k in results if item.answerable]
    unanswerable = [o for item, o, _ in results if not item.answerable]
    out = {f"{name}_share": mean(o == name for _, o, _ in results) for name in OUTCOMES}
    out["wrong_answer_rate"] = out["wrong_share"]
    nan = float("nan")
    out["abstention"] = mean(o in ("unsure", "abstained") for o in unanswerable) if unanswerable else nan
    out["false_abstention"] = mean(o in ("unsure", "abstained") for o, _ in answerable) if answerable else nan
    out["key_fact_recall"] = mean(k for _, k in answerable) if answerable else nan
    offered = [o for _, o, _ in results if o in ("correct", "partial", "wrong")]
    out["coverage"] = len(offered) / len(results)
    out["precision_of_answered"] = offered.count("correct") / len(offered) if offered else nan
    out["n"] = len(results)
    return out


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, x))))


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """(a, b) of P(y) = sigmoid(a x + b) by Newton's method, lightly regularised so separable data stays finite.

    A higher score never means a lower confidence: a negative slope (noise) gives the base rate, (0, logit(mean y)).
    """
    a, b = 1.0, 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a * x + b)))
        w = p * (1 - p) + 1e-9
        grad = np.array([np.sum((p - y) * x) + 1e-2 * a, np.sum(p - y)])
        hess = np.array([[np.sum(w * x * x) + 1e-2, np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        a, b = np.array([a, b]) - np.linalg.solve(hess, grad)
    if a < 0:
        return 0.0, logit(float(np.mean(y)))
    return float(a), float(b)


def auroc(positive: list[float], negative: list[float]) -> float:
    if not positive or not negative:
        return float("nan")
    return mean((p > n) + 0.5 * (p == n) for p in positive for n in negative)


def scores(pairs: list[Pair], answerable: bool) -> list[float]:
    return [s for r, i in pairs if i.answerable == answerable and (s := score_of(r)) is not None]


def brier(pairs: list[Pair], calibration: tuple[float, float] | None) -> float:
    """Brier score of the confidence (calibrated score, or the raw score when calibration is None) against answerability."""
    judged = [(s, float(i.answerable)) for r, i in pairs if (s := score_of(r)) is not None]
    if not judged:
        return float("nan")
    if calibration is None:
        return mean((s - y) ** 2 for s, y in judged)
    a, b = calibration
    return mean((sigmoid(a * logit(s) + b) - y) ** 2 for s, y in judged)


@dataclass(frozen=True)
class Choice:
    """The thresholds and calibration chosen on the odd half, and the figures to judge them by."""

    thresholds: Thresholds
    calibration: tuple[float, float]
    auroc: dict[str, float]  # answerable against unanswerable questions that reached the judge: odd, even, all

    def settings(self) -> dict[str, Any]:
        """The chosen values by setting name, as ragbot.toml takes them."""
        t = self.thresholds
        return {ABSTAIN_BELOW: t.abstain_below, ANSWER_FROM: t.answer_from, CLAIM: t.claim, PASSAGE: t.passage,
                CALIBRATION: [round(self.calibration[0], 3), round(self.calibration[1], 3)]}  # fmt: skip


def choose(recording: Recording, max_false: float = MAX_FALSE, max_abstain: float = MAX_ABSTAIN) -> Choice:
    """The odd half's best thresholds under the budgets (module docstring), at or above the run's own; its calibration."""
    odd, floor = recording.half("odd"), recording.floor
    if not odd or not any(i.answerable for _, i in odd):
        raise RagbotError("the odd half of the QA set has no answerable question to choose thresholds on")
    unchecked = replace(floor, abstain_below=0.0)
    allowed_false = figures(odd, unchecked, floor)["false_abstention"] + max_false
    claims_recorded = any((r.get("checks") or {}).get(CLAIMS) for r, _ in odd)
    # a recording's tiny claim threshold (it drops nothing) replays as 0, which skips the check
    claim_grid = [c for c in GRID if c >= floor.claim - 1e-5] if claims_recorded else [floor.claim]
    candidates = []
    for answer_from in [a for a in GRID if a >= floor.answer_from - 1e-9] or [floor.answer_from]:
        for claim in claim_grid:
            f = figures(odd, Thresholds(answer_from, 0.0, claim), floor)
            if f["false_abstention"] <= allowed_false + 1e-9:
                candidates.append((f["wrong_answer_rate"], -f["key_fact_recall"], answer_from + claim, answer_from, claim))
    if not candidates:  # even the lowest replayable thresholds exceed the budget: keep those
        candidates = [(0.0, 0.0, 0.0, max(floor.answer_from, GRID[0]), floor.claim)]
    *_, answer_from, claim = min(candidates)
    passage = _choose_passage(odd, Thresholds(answer_from, 0.0, claim), floor, allowed_false)
    answerable_p = sorted(scores(odd, True))
    allowed = int(max_abstain * sum(i.answerable for _, i in odd))
    abstain_below = min(answer_from, round(answerable_p[allowed] - 0.005, 3) if allowed < len(answerable_p) else answer_from)
    abstain_below = max(0.0, math.floor(abstain_below * 100) / 100)
    judged = [(logit(s), float(i.answerable)) for r, i in odd if (s := score_of(r)) is not None]
    calibration = fit_logistic(np.array([x for x, _ in judged]), np.array([y for _, y in judged]))
    halves = {"odd": odd, "even": recording.half("even"), "all": recording.pairs}
    areas = {name: auroc(scores(group, True), scores(group, False)) for name, group in halves.items()}
    return Choice(Thresholds(answer_from, abstain_below, claim, passage), calibration, areas)


def _choose_passage(odd: list[Pair], chosen: Thresholds, floor: Thresholds, allowed_false: float) -> float:
    """With the judge's thresholds chosen: the passage threshold with the fewest wrong answers in the same budget."""
    if not any(best_reading(r) is not None for r, _ in odd):
        return floor.passage  # no readings recorded: keep the run's own
    candidates = []
    for passage in [p for p in PASSAGE_GRID if p >= floor.passage - 1e-5]:
        f = figures(odd, replace(chosen, passage=passage), floor)
        if f["false_abstention"] <= allowed_false + 1e-9:
            candidates.append((f["wrong_answer_rate"], -f["key_fact_recall"], passage))
    return min(candidates)[2] if candidates else floor.passage


@dataclass(frozen=True)
class Calibration:
    """Before and after: the settings in force now, the chosen ones, and what each gives on each half."""

    before: dict[str, Any]
    choice: Choice
    recording: Recording
    replayable_before: bool  # the settings in force are at or above the run's own, so they can be replayed

    def rows(self) -> list[list[str]]:
        """half, which, wrong, abstention, false abstention, key facts, precision of answered, coverage, Brier."""
        before_t = Thresholds.of(self.before)
        raw_before = tuple(self.before.get(CALIBRATION) or (1.0, 0.0))
        out = []
        for half in ("odd", "even", "all"):
            group = self.recording.pairs if half == "all" else self.recording.half(half)
            for which, t, cal in (("before", before_t, raw_before), ("after", self.choice.thresholds, self.choice.calibration)):
                if which == "before" and not self.replayable_before:
                    out.append([half, which, *["n/a"] * 7])
                    continue
                f = figures(group, t, self.recording.floor)
                out.append([half, which, *(f"{f[k]:.3f}" for k in _FIGURES), f"{brier(group, (float(cal[0]), float(cal[1]))):.3f}"])
        return out

    def text(self) -> str:
        """The before/after table as printed by `ragbot eval --calibrate`."""
        after = self.choice.settings()
        lines = [f"QA set: {self.recording.dataset} ({len(self.recording.pairs)} questions; the odd half chooses, the even half "
                 "is held out)", "", f"{'setting':<22}{'before':>18}{'after':>18}"]  # fmt: skip
        lines += [f"{name:<22}{_show(self.before.get(name)):>18}{_show(after[name]):>18}" for name in SETTINGS]
        a = self.choice.auroc
        lines += ["", f"{SCORE} AUROC, answerable against unanswerable questions that reached the judge: odd {a['odd']:.3f}, "
                  f"even {a['even']:.3f}, all {a['all']:.3f}", ""]  # fmt: skip
        headers = ["half", "", "wrong", "abstention", "false abst.", "key facts", "precision", "coverage", "Brier"]
        rows = self.rows()
        widths = [max(len(r[c]) for r in [headers, *rows]) + 2 for c in range(len(headers))]
        lines.append("".join(f"{h:>{w}}" for h, w in zip(headers, widths, strict=True)))
        lines += ["".join(f"{c:>{w}}" for c, w in zip(r, widths, strict=True)) for r in rows]
        f = self.recording.floor
        run_own = f"{ANSWER_FROM} {f.answer_from:g}, {CLAIM} {f.claim:g} and {PASSAGE} {f.passage:g}"
        if f.answer_from > 0 or f.claim > RECORDING[CLAIM] or f.passage > RECORDING[PASSAGE]:
            lines.append(f"\nthis run was made with {run_own}: below those nothing was written, so only thresholds at or above "
                         "them were tried; `ragbot eval --calibrate` without RUN records one that can try them all")  # fmt: skip
        if not self.replayable_before:
            lines.append(f"\nbefore: n/a, the settings in force are below the run's own ({run_own}), below which nothing was "
                         "written; `ragbot eval --calibrate` without RUN records one")  # fmt: skip
        lines.append("\nwrong: wrong-answer rate; precision: answers holding every key fact over answers offered; coverage: share "
                     "answered; Brier: of the confidence against answerability. Held out: the even half.")  # fmt: skip
        return "\n".join(lines)


_FIGURES = ("wrong_answer_rate", "abstention", "false_abstention", "key_fact_recall", "precision_of_answered", "coverage")


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(f"{float(v):.3f}" for v in value) + "]"
    return "n/a" if value is None else f"{float(value):g}"


def calibrate(recording: Recording, before: dict[str, Any], max_false: float = MAX_FALSE, max_abstain: float = MAX_ABSTAIN) -> Calibration:
    """Choose on the odd half and set the result beside the settings in force (``before``: a Settings.to_dict())."""
    choice = choose(recording, max_false, max_abstain)
    floor = recording.floor
    t = Thresholds.of(before)
    replayable = t.answer_from >= floor.answer_from - 1e-9 and t.claim >= floor.claim - 1e-9 and t.passage >= floor.passage - 1e-5
    return Calibration({name: before.get(name) for name in SETTINGS}, choice, recording, replayable)


def saved_comment(dataset: str) -> str:
    return f"chosen by `ragbot eval --calibrate` on {dataset} (odd half; even half held out), {date.today().isoformat()}"
