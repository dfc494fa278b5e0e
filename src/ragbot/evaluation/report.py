"""Aggregate per-question scores into metrics.json, report.md and PNG plots; compare two runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

from ragbot.errors import RagbotError
from ragbot.evaluation.metrics import OUTCOMES, percentile
from ragbot.evaluation.runner import read_results

METRICS_FILE, REPORT_FILE = "metrics.json", "report.md"
RETRIEVAL = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10", "evidence_coverage")
ANSWER = ("key_fact_recall", "token_f1", "citation_support", "citation_precision")
LATENCY = ("latency_p50_ms", "latency_p95_ms", "first_token_p50_ms", "first_token_p95_ms", "judgement_p50_ms", "judgement_p95_ms")
OUTCOME_SHARES = tuple(f"{o}_share" for o in OUTCOMES)
TRUST = ("wrong_answer_rate", "wrong_among_answered", "abstention", "false_abstention", *OUTCOME_SHARES)
TABLE_METRICS = (*TRUST, *RETRIEVAL, *ANSWER, *LATENCY)


def aggregate(records: list[dict[str, Any]]) -> dict[str, float | int]:
    """Means over answerable questions for retrieval/answer scores; abstention over unanswerable ones."""
    ok = [r for r in records if "error" not in r]
    answerable = [r["scores"] for r in ok if r["type"] != "unanswerable"]
    unanswerable = [r["scores"] for r in ok if r["type"] == "unanswerable"]
    out: dict[str, float | int] = {"questions": len(records), "answerable": len(answerable), "unanswerable": len(unanswerable)}
    out["errors"] = len(records) - len(ok)
    for name in (*RETRIEVAL, *ANSWER):
        if answerable:
            out[name] = mean(s[name] for s in answerable)
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
        if offered:
            out["wrong_among_answered"] = outcomes.count("wrong") / offered
    for key, prefix in (("latency_ms", "latency"), ("first_token_ms", "first_token"), ("judgement_ms", "judgement")):
        values = [r["scores"][key] for r in ok if r["scores"].get(key) is not None]
        if values:  # first-token times exist only for written (LLM) answers
            out[f"{prefix}_p50_ms"], out[f"{prefix}_p95_ms"] = percentile(values, 0.5), percentile(values, 0.95)
    return out


def summarise(records: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    types = sorted({r["type"] for r in records})
    subtypes = sorted({r.get("subtype") or "" for r in records} - {""})
    return {
        "config": config,
        "overall": aggregate(records),
        "by_type": {t: aggregate([r for r in records if r["type"] == t]) for t in types},
        "by_half": {h: aggregate([r for r in records if r.get("half") == h]) for h in ("odd", "even")},
        "by_subtype": {t: aggregate([r for r in records if r.get("subtype") == t]) for t in subtypes},
    }


def format_value(value: Any) -> str:
    if value is None:
        return "–"
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


def _markdown(headers: list[str], rows: list[list[str]]) -> str:
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
        f"**Wrong-answer rate {format_value(overall.get('wrong_answer_rate'))}** · key-fact recall "
        f"{format_value(overall.get('key_fact_recall'))} · abstention {format_value(overall.get('abstention'))} · "
        f"false abstention {format_value(overall.get('false_abstention'))}",
        "",
        _markdown(*metrics_table(summary, names=TRUST)),
        "",
        "Outcomes: correct (every key fact), partial (some), wrong (an answer holding none of the key facts, or any answer to "
        "an unanswerable question), unsure or abstained (no answer offered; both count as abstaining). Shares are over all "
        "questions of the column; wrong among answered is over the answers offered.",
        "",
        "By half (thresholds are chosen on the odd half of each file; the even half is held out):",
        "",
        _markdown(*metrics_table(summary, "by_half", names=(*TRUST, "key_fact_recall", "hit@1", "mrr"))),
        "",
        *(
            ["Unanswerable questions by kind:", "", _markdown(*metrics_table(summary, "by_subtype", names=TRUST)), ""]
            if summary.get("by_subtype")
            else []
        ),
        "## Metrics",
        "",
        _markdown(*metrics_table(summary, names=(*RETRIEVAL, *ANSWER, *LATENCY))),
        "",
        "Retrieval and answer metrics are means over answerable questions; abstention is over unanswerable ones, "
        "false abstention over answerable ones. A passage counts as relevant when it holds at least half of a gold quote.",
        "",
        "![metrics by type](metrics_by_type.png) ![latency](latency.png) ![first relevant rank](first_rank.png)",
        "",
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

    ranks = [r["scores"].get("first_relevant_rank") for r in records if r["type"] != "unanswerable" and "error" not in r]
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


def _load(out_dir: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    path = out_dir / METRICS_FILE
    if not path.is_file():
        raise RagbotError(f"{path} not found: is {out_dir} a `ragbot eval` output folder?")
    return json.loads(path.read_text(encoding="utf-8")), {r["id"]: r for r in read_results(out_dir)}


def _passed(record: dict[str, Any]) -> tuple[bool, bool]:
    """(retrieval passed, answer passed) for one question."""
    s = record.get("scores", {})
    if record["type"] == "unanswerable":
        return bool(s.get("abstained")), bool(s.get("abstained"))
    return s.get("hit@1") == 1.0, (s.get("key_fact_recall") or 0) >= 0.5


def compare(dir_a: Path, dir_b: Path) -> str:
    """Side-by-side metrics of two runs with differences, and the questions that flipped."""
    (sa, ra), (sb, rb) = _load(dir_a), _load(dir_b)
    a, b = sa["overall"], sb["overall"]
    width = max(len(n) for n in TABLE_METRICS) + 2
    lines = [f"{'metric':<{width}}{'A':>10}{'B':>10}{'B - A':>10}", "-" * (width + 30)]
    lines.append(f"A = {dir_a} ({sa['config'].get('label', '')})")
    lines.append(f"B = {dir_b} ({sb['config'].get('label', '')})")
    for name in TABLE_METRICS:
        va, vb = a.get(name), b.get(name)
        diff = f"{vb - va:+10.3f}" if isinstance(va, int | float) and isinstance(vb, int | float) else f"{'':>10}"
        lines.append(f"{name:<{width}}{format_value(va):>10}{format_value(vb):>10}{diff}")
    common = [i for i in ra if i in rb]
    for what, idx in (
        ("retrieval (relevant passage first; unanswerable: abstained)", 0),
        ("answer (key facts >= 0.5; unanswerable: abstained)", 1),
    ):
        better = [i for i in common if not _passed(ra[i])[idx] and _passed(rb[i])[idx]]
        worse = [i for i in common if _passed(ra[i])[idx] and not _passed(rb[i])[idx]]
        lines.append(f"\nflipped on {what}: {len(better)} better in B, {len(worse)} worse in B")
        lines += [f"  + {i}: {ra[i]['question']}" for i in better]
        lines += [f"  - {i}: {ra[i]['question']}" for i in worse]
    only = sorted(set(ra) ^ set(rb))
    if only:
        lines.append(f"\n{len(only)} questions are in only one run: {', '.join(only[:20])}")
    return "\n".join(lines)


def summarize_run(
    out_dir: Path, config: dict[str, Any], records: list[dict[str, Any]], echo: Callable[[str], None] = print
) -> dict[str, Any]:
    summary = summarise(records, config)
    write_report(out_dir, summary, records)
    o = summary["overall"]
    shown = {"wrong_answer_rate": "WRONG ANSWERS", "key_fact_recall": "key facts", "abstention": "abstention",
             "false_abstention": "false abstention", "hit@1": "hit@1", "mrr": "MRR", "citation_support": "citation support",
             "latency_p50_ms": "p50 ms"}  # fmt: skip
    echo(f"{o['questions']} questions: " + "  ".join(f"{label} {format_value(o.get(key))}" for key, label in shown.items()))
    echo(f"wrote {out_dir}/ (results.jsonl, metrics.json, report.md, 3 plots)")
    return summary
