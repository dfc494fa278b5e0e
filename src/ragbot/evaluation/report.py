"""Aggregate per-question scores into metrics.json, report.md and PNG plots (comparison.py compares runs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

from ragbot.evaluation import risk_coverage
from ragbot.evaluation.calibrate import ANSWER_FROM
from ragbot.evaluation.metrics import OUTCOMES, percentile
from ragbot.settings import Settings

METRICS_FILE, REPORT_FILE = "metrics.json", "report.md"
RETRIEVAL = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10", "evidence_coverage")
ANSWER = ("key_fact_recall", "token_f1", "citation_support", "citation_precision")
LATENCY = ("latency_p50_ms", "latency_p95_ms", "first_token_p50_ms", "first_token_p95_ms", "judgement_p50_ms", "judgement_p95_ms")
OUTCOME_SHARES = tuple(f"{o}_share" for o in OUTCOMES)
TRUST = ("wrong_answer_rate", "precision_of_answered", "wrong_among_answered", "abstention", "false_abstention", *OUTCOME_SHARES)
TABLE_METRICS = (*TRUST, *RETRIEVAL, *ANSWER, *LATENCY)


def aggregate(records: list[dict[str, Any]]) -> dict[str, float | int]:
    """Means over answerable questions for retrieval/answer scores; abstention over unanswerable ones."""
    ok = [r for r in records if "error" not in r]
    answerable = [r["scores"] for r in ok if r["type"] != "unanswerable"]
    unanswerable = [r["scores"] for r in ok if r["type"] == "unanswerable"]
    out: dict[str, float | int] = {"questions": len(records), "answerable": len(answerable), "unanswerable": len(unanswerable)}
    out["errors"] = len(records) - len(ok)
    for name in (*RETRIEVAL, *ANSWER):  # absent for a system that returns no sources in a known shape: "n/a"
        values = [s.get(name) for s in answerable]
        if values and None not in values:
            out[name] = mean(values)
    if unanswerable:  # unsure counts as not answering, like an abstention: the user is told it is not an answer
        out["abstention"] = mean(float(s["abstained"]) for s in unanswerable)
    if answerable:
        out["false_abstention"] = mean(float(s["abstained"]) for s in answerable)
    outcomes = [r["scores"].get("outcome") for r in ok]
    if outcomes and None not in outcomes:
        for name in OUTCOMES:
            out[f"{name}_share"] = outcomes.count(name) / len(outcomes)
        out["wrong_answer_rate"] = out["wrong_share"]
        offered = sum(o in ("correct", "partial", "wrong") for o in outcomes)
        if offered:  # precision of answered: answers holding every key fact, over all answers offered
            out["precision_of_answered"] = outcomes.count("correct") / offered
            out["wrong_among_answered"] = outcomes.count("wrong") / offered
    for key, prefix in (("latency_ms", "latency"), ("first_token_ms", "first_token"), ("judgement_ms", "judgement")):
        values = [r["scores"][key] for r in ok if r["scores"].get(key) is not None]
        if values:  # first-token times exist only for written (LLM) answers
            out[f"{prefix}_p50_ms"], out[f"{prefix}_p95_ms"] = percentile(values, 0.5), percentile(values, 0.95)
    return out


def summarise(records: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    types = sorted({r["type"] for r in records})
    subtypes = sorted({r.get("subtype") or "" for r in records} - {""})
    summary = {
        "config": config,
        "overall": aggregate(records),
        "by_type": {t: aggregate([r for r in records if r["type"] == t]) for t in types},
        "by_half": {h: aggregate([r for r in records if r.get("half") == h]) for h in ("odd", "even")},
        "by_subtype": {t: aggregate([r for r in records if r.get("subtype") == t]) for t in subtypes},
    }
    default = Settings.model_fields[ANSWER_FROM].default  # ragbot's shipped threshold, marked beside the run's own
    found = risk_coverage.curve(records, config.get("settings") or {}, default)
    if found is not None:
        summary["risk_coverage"] = found.to_dict()
    return summary


def format_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def metrics_table(
    summary: dict[str, Any], by: str = "by_type", names: tuple[str, ...] = TABLE_METRICS
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a metrics table: one row per metric, one column for all questions and one per type (or half, subtype)."""
    columns = [("all", summary["overall"]), *summary.get(by, {}).items()]
    headers = ["metric", *(label for label, _ in columns)]
    shown = [n for n in names if any(values.get(n) is not None for _, values in columns)]
    return headers, [[name, *(format_value(values.get(name)) for _, values in columns)] for name in shown]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---|" * (len(headers) - 1)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def write_report(out_dir: Path, summary: dict[str, Any], records: list[dict[str, Any]]) -> None:
    (out_dir / METRICS_FILE).write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    config, overall = summary["config"], summary["overall"]
    failures = [r for r in records if r["type"] != "unanswerable" and r["scores"].get("hit@1") == 0.0]
    lines = [
        f"# ragbot eval: {config.get('label', '')}",
        "",
        f"Dataset `{config.get('dataset')}`: {overall['questions']} questions ({overall['answerable']} answerable, "
        f"{overall['unanswerable']} unanswerable); {len(config.get('skipped_lines', []))} lines skipped.",
        "",
        "Configuration: " + ", ".join(f"{k}={v}" for k, v in config.get("settings", {}).items() if k in _SHOWN_SETTINGS),
        "",
        "## What users got",
        "",
        f"**Wrong-answer rate {format_value(overall.get('wrong_answer_rate'))}** · precision of answered "
        f"{format_value(overall.get('precision_of_answered'))} · key-fact recall "
        f"{format_value(overall.get('key_fact_recall'))} · abstention {format_value(overall.get('abstention'))} · "
        f"false abstention {format_value(overall.get('false_abstention'))}",
        "",
        markdown_table(*metrics_table(summary, names=TRUST)),
        "",
        "Outcomes: correct (every key fact), partial (some), wrong (an answer holding none of the key facts, or any answer to "
        "an unanswerable question), unsure or abstained (no answer offered; both count as abstaining). Shares are over all "
        "questions of the column; precision of answered (answers holding every key fact) and wrong among answered are over "
        "the answers offered (an answer to an unanswerable question is wrong).",
        "",
        "By half (thresholds are chosen on the odd half of each file; the even half is held out):",
        "",
        markdown_table(*metrics_table(summary, "by_half", names=(*TRUST, "key_fact_recall", "hit@1", "mrr"))),
        "",
        *(
            ["Unanswerable questions by kind:", "", markdown_table(*metrics_table(summary, "by_subtype", names=TRUST)), ""]
            if summary.get("by_subtype")
            else []
        ),
        "## Metrics",
        "",
        markdown_table(*metrics_table(summary, names=(*RETRIEVAL, *ANSWER, *LATENCY))),
        "",
        "Retrieval and answer metrics are means over answerable questions; abstention is over unanswerable ones, "
        "false abstention over answerable ones. A passage counts as relevant when it holds at least half of a gold quote.",
        "",
        "![metrics by type](metrics_by_type.png) ![latency](latency.png) ![first relevant rank](first_rank.png)",
        "",
        *_risk_coverage_section(summary),
        f"## Questions whose first passage was not relevant ({len(failures)})",
        "",
    ]
    lines += [
        f"- `{r['id']}` ({r['type']}, first relevant rank {r['scores'].get('first_relevant_rank') or '>k'}): {r['question']}"
        for r in failures
    ]
    for skipped in config.get("skipped_lines", []):
        lines.append(f"- skipped: {skipped}")
    (out_dir / REPORT_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    _plots(out_dir, summary, records)


def _risk_coverage_section(summary: dict[str, Any]) -> list[str]:
    """The risk–coverage curve's section of report.md (LLM engine runs only): the plot, and the figures at each mark."""
    if "risk_coverage" not in summary:
        return []
    c = risk_coverage.Curve.from_dict(summary["risk_coverage"])
    lines = ["## Risk and coverage", "", f"Swept along the judge's `{c.score}` from {c.start:g} (the run's own `{ANSWER_FROM}`: below it "
             "nothing was written); `judge_abstain_below` only splits what is not answered into unsure and abstained, so it does "
             "not move these curves.", "", f"![risk-coverage]({risk_coverage.PLOT})", ""]  # fmt: skip
    for label, value in c.marks.items():
        p = c.at(value)
        lines.append(f"- {label} {value:g}: coverage {p.coverage:.3f}, precision of answered {format_value(p.precision)}, "
                     f"wrong-answer rate {p.wrong_rate:.3f}, abstention {format_value(p.abstention)}")  # fmt: skip
    return [*lines, ""]


_SHOWN_SETTINGS = (
    "retriever",
    "engine",
    "top_k",
    "chunk_tokens",
    "chunk_overlap",
    "embed_title",
    "lexical_weight",
    "context_weight",
    "passage_weight",
    "second_sentence_weight",
    "brief_match_weight",
    "answer_passages",
    "abstain_threshold",
)


def _plots(out_dir: Path, summary: dict[str, Any], records: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = [t for t in summary["by_type"] if t != "unanswerable"]
    shown = ("hit@1", "hit@5", "mrr", "key_fact_recall", "citation_support")
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(shown)
    for i, name in enumerate(shown):
        ax.bar([x + i * width for x in range(len(types))], [summary["by_type"][t].get(name, 0) for t in types], width, label=name)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(types))], types)
    ax.set_ylim(0, 1.05)
    ax.set_title("Metrics by question type")
    ax.legend(fontsize=8, ncols=len(shown), loc="upper center", bbox_to_anchor=(0.5, -0.1))
    fig.tight_layout()
    fig.savefig(out_dir / "metrics_by_type.png", dpi=100)
    plt.close(fig)

    latencies = [r["scores"]["latency_ms"] for r in records if r["scores"].get("latency_ms") is not None]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(latencies, bins=30)
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency")
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=100)
    plt.close(fig)

    # a system that returned no ranked sources has no rank to plot (n/a), not "none found"
    ranks = [r["scores"].get("first_relevant_rank") for r in records if r["type"] != "unanswerable" and "hit@1" in r["scores"]]
    k = max([x for x in ranks if x] + [10])
    labels = [str(i) for i in range(1, k + 1)] + ["none"]
    counts = [sum(1 for x in ranks if x == i) for i in range(1, k + 1)] + [sum(1 for x in ranks if not x)]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(labels, counts)
    ax.set_xlabel("rank of the first relevant passage")
    ax.set_ylabel("questions")
    ax.set_title("Where the evidence was found")
    fig.tight_layout()
    fig.savefig(out_dir / "first_rank.png", dpi=100)
    plt.close(fig)

    if "risk_coverage" in summary:
        curve = risk_coverage.Curve.from_dict(summary["risk_coverage"])
        risk_coverage.plot(curve, out_dir / risk_coverage.PLOT, summary["config"].get("label", ""))


def summarize_run(
    out_dir: Path, config: dict[str, Any], records: list[dict[str, Any]], echo: Callable[[str], None] = print
) -> dict[str, Any]:
    summary = summarise(records, config)
    write_report(out_dir, summary, records)
    o = summary["overall"]
    shown = {"wrong_answer_rate": "WRONG ANSWERS", "precision_of_answered": "precision", "key_fact_recall": "key facts",
             "abstention": "abstention", "false_abstention": "false abstention", "hit@1": "hit@1", "mrr": "MRR",
             "citation_support": "citation support", "latency_p50_ms": "p50 ms"}  # fmt: skip
    echo(f"{o['questions']} questions: " + "  ".join(f"{label} {format_value(o.get(key))}" for key, label in shown.items()))
    plots = 4 if "risk_coverage" in summary else 3
    echo(f"wrote {out_dir}/ (results.jsonl, metrics.json, report.md, {plots} plots)")
    return summary
