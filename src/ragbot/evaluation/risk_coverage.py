"""The risk–coverage curve of the LLM engine: what the judge's threshold trades, swept along its answerability score.

At each threshold t on the score each answer records (calibrate.SCORE), a question is answered when the
run answered it and its score reaches t; the rest are not answered. Coverage is the share answered,
precision of answered the share of those holding every key fact (an answer to an unanswerable question is
wrong), and beside them the wrong-answer rate against abstention on unanswerable questions. Below the
run's own ``judge_answer_from`` nothing was written, so an ordinary run's curve starts there; a run
recorded with the judge deciding nothing (``ragbot eval --calibrate``) has the whole curve.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ragbot.evaluation.calibrate import ANSWER_FROM, SCORE, score_of

PLOT = "risk_coverage.png"


@dataclass(frozen=True)
class Point:
    threshold: float
    coverage: float  # answered, over all questions
    precision: float | None  # answers holding every key fact, over answers (None: nothing answered)
    abstention: float | None  # unanswerable questions not answered, over unanswerable questions
    wrong_rate: float  # wrong answers, over all questions


@dataclass(frozen=True)
class Curve:
    score: str
    start: float  # the run's own judge_answer_from: the lowest threshold it can show
    points: list[Point]
    marks: dict[str, float]  # what each marked threshold is ("this run's judge_answer_from") -> its value

    def at(self, threshold: float) -> Point:
        """The point in force at a threshold: the highest swept threshold at or below it."""
        return max((p for p in self.points if p.threshold <= threshold + 1e-12), key=lambda p: p.threshold, default=self.points[0])

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "start": self.start, "marks": self.marks, "points": [asdict(p) for p in self.points]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Curve:
        return cls(d["score"], d["start"], [Point(**p) for p in d["points"]], d["marks"])


def curve(records: list[dict[str, Any]], settings: dict[str, Any], default: float | None = None) -> Curve | None:
    """The curve of a run (None when no answer records a score: not the LLM engine); marks its threshold and ``default``."""
    ok = [r for r in records if "error" not in r and "outcome" in r.get("scores", {})]
    scored = [s for r in ok if (s := score_of(r)) is not None]
    if not scored:
        return None
    start = float(settings.get(ANSWER_FROM, 0.0) or 0.0)
    thresholds = sorted({start, *(s for s in scored if s > start), min(1.0, max(scored) + 1e-6)})
    unanswerable = [r for r in ok if r["type"] == "unanswerable"]
    points = []
    for t in thresholds:
        answered = [r for r in ok if r["scores"]["outcome"] in ("correct", "partial", "wrong") and ((s := score_of(r)) is None or s >= t)]
        outcomes = [r["scores"]["outcome"] for r in answered]
        taken = {r["id"] for r in answered}
        abstained = [r for r in unanswerable if r["id"] not in taken]
        points.append(
            Point(
                round(t, 6),
                len(answered) / len(ok),
                outcomes.count("correct") / len(answered) if answered else None,
                len(abstained) / len(unanswerable) if unanswerable else None,
                outcomes.count("wrong") / len(ok),
            )
        )
    marks = {f"this run's {ANSWER_FROM}": start}
    if default is not None and default >= start and abs(default - start) > 1e-9:
        marks[f"default {ANSWER_FROM}"] = default
    return Curve(SCORE, start, points, marks)


def plot(c: Curve, path: Path, title: str = "") -> None:
    """Two panels: precision of answered against coverage, and the wrong-answer rate against abstention; marks labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    cov = [p.coverage for p in c.points if p.precision is not None]
    prec = [p.precision for p in c.points if p.precision is not None]
    left.plot(cov, prec, marker=".", label=f"swept along {c.score} (grey: the threshold)")
    left.set_xlabel("coverage (share of questions answered)")
    left.set_ylabel("precision of answered")
    left.set_xlim(0, 1.02)
    left.set_ylim(0, 1.02)
    with_abstention = [p for p in c.points if p.abstention is not None]
    right.plot([p.abstention for p in with_abstention], [p.wrong_rate for p in with_abstention], marker=".", label=f"swept along {c.score}")
    right.set_xlabel("abstention on unanswerable questions")
    right.set_ylabel("wrong-answer rate (all questions)")
    right.set_xlim(0, 1.02)
    right.set_ylim(0, max([p.wrong_rate for p in c.points] + [0.1]) * 1.1)
    for step in [x / 10 for x in range(1, 10)]:  # the threshold written beside the curve at each tenth it passes
        if step <= c.start or step > c.points[-1].threshold:
            continue
        p, note = c.at(step), {"fontsize": 7, "color": "grey", "textcoords": "offset points"}
        if p.precision is not None:
            left.annotate(f"{step:.1f}", (p.coverage, p.precision), xytext=(3, 4), **note)
        if p.abstention is not None:
            right.annotate(f"{step:.1f}", (p.abstention, p.wrong_rate), xytext=(-16, 2), **note)
    for n, (label, value) in enumerate(c.marks.items()):
        p = c.at(value)
        colour = ("tab:red", "tab:green")[n % 2]
        text = f"{label} {value:.2f}"
        if p.precision is not None:
            left.scatter([p.coverage], [p.precision], color=colour, zorder=3, s=50, label=text)
        if p.abstention is not None:
            right.scatter([p.abstention], [p.wrong_rate], color=colour, zorder=3, s=50, label=text)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    left.set_title("Risk–coverage: precision of answered")
    right.set_title("Wrong answers against abstention")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
