"""An answer in the terminal: shown as it is written (the model's check, then the text), then in full with its sources."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

from ragbot.answer import Answer, Final, Preview, Token, Turn, Verdict

VERDICT_LINES = {
    "answered": "the passages state the answer; writing it",
    "unsure": "the passages may not state the answer",
    "abstained": "the passages do not state the answer",
}
STATUS_LINES = {"answered": "Answer", "unsure": "Unsure (not an answer)", "abstained": "The briefs don't say"}


def stream_answer(pipeline: Any, question: Any) -> Answer:
    """Show the answer as it is written (on stderr when stdout is not a terminal), and return the final one."""
    out = sys.stdout if sys.stdout.isatty() else sys.stderr
    turn, writing = Turn(), False
    for event in pipeline.stream(question):
        first = turn.preview is None and turn.final is None
        turn.add(event)
        match event:
            case Preview(answer) | Final(answer) if first and answer.standalone:
                print(f"(as a standalone question: {answer.standalone})", file=out, flush=True)
            case Verdict(status, confidence):
                print(f"checked: {VERDICT_LINES[status]} (confidence that they do: {confidence:.2f})", file=out, flush=True)
            case Token(text):
                print(text if writing else f"writing: {text}", end="", file=out, flush=True)
                writing = True
    if writing:
        print("\n", file=out, flush=True)
    final = turn.answer
    if final.notice and final.answered:  # an unsure or abstained answer shows its notice itself
        print(f"ragbot: {final.notice}", file=sys.stderr, flush=True)
    return final


def format_answer(answer: Answer, width: int = 100) -> str:
    """Plain-text rendering: the answer's state, the answer, then each cited passage (or the closest) with its words."""
    # confidence: the calibrated probability that the passages state the answer, whatever the state
    label = "confidence" if answer.answered else "confidence that they do:"
    confidence = "" if answer.confidence is None else f", {label} {answer.confidence:.2f}"
    lines = [f"[{STATUS_LINES.get(answer.status, answer.status)}{confidence}]", textwrap.fill(answer.text, width)]
    if answer.notice and not answer.answered:
        lines.append(textwrap.fill(answer.notice, width))
    if answer.dropped:
        lines.append(f"({len(answer.dropped)} written sentence(s) removed: no cited passage supports them)")
    if answer.abstained:
        lines.append("\nClosest passages:")
        for hit in answer.retrieved[:3]:
            p = hit.passage
            lines.append(f"  - {p.title}" + (f" — {p.section}" if p.section else ""))
            lines.append(textwrap.indent(textwrap.fill(textwrap.shorten(p.text, 240), width - 6), "      "))
    else:
        lines.append("\nSources:" if answer.answered else "\nClosest evidence (not an answer):")
        for c in answer.citations:
            p = c.passage
            lines.append(f"  [{c.n}] {p.title}" + (f" — {p.section}" if p.section else "") + f"  ({p.doc_id}, chars {p.start}-{p.end})")
            lines.append(textwrap.indent(textwrap.fill(f"“{c.quote}”", width - 6), "      "))
    return "\n".join(lines)
