"""Runs compared: two side by side with paired bootstrap intervals and the questions that flipped, or several in one table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragbot.errors import RagbotError
from ragbot.evaluation.bootstrap import RESAMPLES, SEED, Difference, paired, signed
from ragbot.evaluation.report import METRICS_FILE, TABLE_METRICS, format_value, markdown_table
from ragbot.evaluation.runner import read_results
from ragbot.files import atomic_write


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


@dataclass(frozen=True)
class Comparison:
    """Two runs on (mostly) the same questions: their summaries, records by id, and each metric's B - A with its interval."""

    summary_a: dict[str, Any]
    summary_b: dict[str, Any]
    records_a: dict[str, dict[str, Any]]
    records_b: dict[str, dict[str, Any]]
    diffs: list[Difference]

    @property
    def common(self) -> list[str]:
        return [i for i in self.records_a if i in self.records_b]


def differences(dir_a: Path, dir_b: Path) -> Comparison:
    """Both runs, and every headline metric's B - A with its paired bootstrap interval."""
    (sa, ra), (sb, rb) = _load(dir_a), _load(dir_b)
    return Comparison(sa, sb, ra, rb, paired(list(ra.values()), list(rb.values())))


DIFFERENCE_HEADERS = ["metric", "A", "B", "B - A", "95% interval", "B higher", "B lower"]


def difference_rows(diffs: list[Difference]) -> list[list[str]]:
    """One row a metric: A, B, B - A, its interval ("includes 0" when it does) and the questions higher or lower in B."""
    order = {name: i for i, name in enumerate(TABLE_METRICS)}
    rows = []
    for d in sorted(diffs, key=lambda d: order.get(d.metric, len(order))):
        diff = "n/a" if d.diff is None else signed(d.diff)
        moved = ("n/a", "n/a") if d.higher is None else (str(d.higher), str(d.lower))
        rows.append([d.metric, format_value(d.a), format_value(d.b), diff, d.interval(), *moved])
    return rows


def compare(dir_a: Path, dir_b: Path) -> str:
    """Side-by-side metrics of two runs with differences, their 95% intervals and the questions that flipped."""
    c = differences(dir_a, dir_b)
    rows = difference_rows(c.diffs)
    widths = [max(len(str(row[i])) for row in [DIFFERENCE_HEADERS, *rows]) + 2 for i in range(len(DIFFERENCE_HEADERS))]
    line = lambda cells: (f"{cells[0]:<{widths[0]}}" + "".join(f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True))).rstrip()  # noqa: E731
    lines = [f"A = {dir_a} ({c.summary_a['config'].get('label', '')})", f"B = {dir_b} ({c.summary_b['config'].get('label', '')})", ""]
    lines += [line(DIFFERENCE_HEADERS), "-" * sum(widths), *(line(row) for row in rows)]
    lines.append(f"\n{_BOOTSTRAP_NOTE.format(n=len(c.common))}")
    return "\n".join(lines + _flips(c.records_a, c.records_b))


_BOOTSTRAP_NOTE = (
    "On the {n} questions both runs answered: a paired bootstrap ("
    + str(RESAMPLES)
    + " resamples of the questions, seed "
    + str(SEED)
    + "); an interval that includes 0 is a difference these questions cannot tell from noise. B higher / B lower: "
    "questions whose own value differs (n/a for ratios over the answers offered and for latency percentiles)."
)


def _flips(ra: dict[str, dict[str, Any]], rb: dict[str, dict[str, Any]]) -> list[str]:
    """The questions that flipped between runs A and B, each way, on retrieval and on the answer."""
    common = [i for i in ra if i in rb]
    lines = []
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
    return lines


def list_runs(*roots: Path) -> list[tuple[str, Path]]:
    """(label, folder) of each `ragbot eval` output under the roots (the folders of a run of several systems too), newest first."""
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in [*root.glob(f"*/{METRICS_FILE}"), *root.glob(f"*/*/{METRICS_FILE}")]:
            try:
                summary = json.loads(path.read_text(encoding="utf-8"))
                label, questions = summary["config"].get("label", ""), summary["overall"]["questions"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a run still being written, or not ragbot's
            found.append((path.stat().st_mtime, f"{path.parent.relative_to(root)} ({label}, {questions} questions)", path.parent))
    return [(label, folder) for _, label, folder in sorted(found, key=lambda f: -f[0])]


COMPARISON_FILE = "comparison.md"
_SOURCES_NOTE = (
    "n/a: the system returned no sources in a known shape, or the metric does not apply. An external system's retrieval "
    "metrics are over the sources it returned, in its order (ragbot's /v1: the passages it cites, not its top-k ranking)."
)


def side_by_side(summaries: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[list[str]]]:
    """One table of several runs: a row per metric, a column per run ("n/a" where a run has no such metric)."""
    headers = ["metric", *(label for label, _ in summaries)]
    rows = [["questions", *(str(s["overall"]["questions"]) for _, s in summaries)]]
    for name in TABLE_METRICS:
        if any(s["overall"].get(name) is not None for _, s in summaries):
            rows.append([name, *(format_value(s["overall"].get(name)) for _, s in summaries)])
    return headers, rows


def write_comparison(out_dir: Path, labels: list[str]) -> str:
    """comparison.md for runs out_dir/<label>/: one table of them all, then each against the first, with intervals."""
    runs = {label: _load(out_dir / label) for label in labels}
    reference = labels[0]
    lines = [f"# {len(labels)} systems on the same questions", "", markdown_table(*side_by_side([(k, s) for k, (s, _) in runs.items()])),
             "", _SOURCES_NOTE]  # fmt: skip
    for label in labels[1:]:
        ra, rb = runs[label][1], runs[reference][1]
        diffs = paired(list(ra.values()), list(rb.values()))
        lines += ["", f"## {reference} (B) against {label} (A)", "", markdown_table(DIFFERENCE_HEADERS, difference_rows(diffs)), ""]
        lines.append(_BOOTSTRAP_NOTE.format(n=len([i for i in ra if i in rb])))
        lines += ["", "```", *"\n".join(_flips(ra, rb)).strip().splitlines(), "```"]
    text = "\n".join(lines) + "\n"
    atomic_write(out_dir / COMPARISON_FILE, text.encode("utf-8"))
    return text
