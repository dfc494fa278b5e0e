"""`ragbot chat`: a conversation in the terminal; follow-ups are understood from the turns before them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ragbot.cli.common import engine_option, index_option, load_pipeline, settings_of
from ragbot.cli.output import format_answer, stream_answer
from ragbot.console import LineReader
from ragbot.errors import RagbotError


def add_parser(commands: Any) -> None:
    commands.add_parser(
        "chat",
        parents=[index_option(), engine_option()],
        help="a conversation in the terminal",
        description="Ask questions one after another; an empty line or Ctrl-D ends.",
    )


def run(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(settings_of(args))
    interactive = sys.stdin.isatty()
    history: list[tuple[str, str]] = []  # earlier turns, so a follow-up can be rewritten into a standalone question
    if interactive:
        print("Ask about the briefs. An empty line or Ctrl-D ends.\n")
    reader = LineReader()  # Ctrl-C stops a wait for input at once, whichever thread the signal lands on
    while True:
        line = reader.read("you> " if interactive else "")
        if line is None:
            break
        if not line.strip():
            if interactive:
                break
            continue
        try:
            answer = stream_answer(pipeline, pipeline.question(line, history=history))
            print(format_answer(answer) + "\n", flush=True)
            history.append((answer.standalone or answer.question, answer.text))
        except RagbotError as exc:
            print(f"ragbot: {exc}\n", file=sys.stderr, flush=True)
    return 0
