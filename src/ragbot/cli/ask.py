"""`ragbot ask`: one question (or a JSONL file of them), answered with cited passages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ragbot.cli.common import EXIT_ERROR, engine_option, index_option, load_pipeline, settings_of
from ragbot.cli.output import format_answer, stream_answer
from ragbot.errors import RagbotError


def add_parser(commands: Any) -> None:
    s = commands.add_parser(
        "ask",
        parents=[index_option(), engine_option()],
        help="answer one question (or a JSONL file of them)",
        description="Answer a question from the briefs with cited passages.",
    )
    s.add_argument("question", nargs="?", help="the question, in quotes")
    s.add_argument("-k", type=int, help="passages in the ranked list (default 10)")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    s.add_argument("--jsonl", type=Path, metavar="FILE", help='answer each {"id", "question"} line of FILE; print one JSON result per line')


def run(args: argparse.Namespace) -> int:
    from ragbot.question import Question, check_k

    if (args.question is None) == (args.jsonl is None):
        raise RagbotError("give either a QUESTION or --jsonl FILE")
    check_k(args.k, "-k")  # bad input fails before the models load
    settings = settings_of(args)
    if args.jsonl is not None:
        return ask_jsonl(args.jsonl, args.k, settings)
    question = Question.parse(args.question, settings.max_question_chars, args.k)  # bad input fails before the models load
    pipeline = load_pipeline(settings)
    if args.json:
        print(json.dumps(pipeline.ask(question).to_dict(), ensure_ascii=False, indent=None))
    else:
        print(format_answer(stream_answer(pipeline, question)))
    return 0


def ask_jsonl(path: Path, k: int | None, settings: Any) -> int:
    """One JSON result per input line; a bad line gets an error record and the run goes on."""
    from ragbot.files import read_lines

    lines = read_lines(path, "questions file")
    pipeline = load_pipeline(settings)
    failed = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item: dict[str, Any] = {}
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise RagbotError('each line needs a "question" string')
            result = pipeline.ask(item["question"], k=k).to_dict()
        except (json.JSONDecodeError, RagbotError) as exc:
            message = f"not JSON ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else str(exc)
            print(f"ragbot: {path}:{n}: {message}", file=sys.stderr)
            result, failed = {"line": n, "error": message}, failed + 1
        print(json.dumps({"id": item.get("id") if isinstance(item, dict) else None, **result}, ensure_ascii=False), flush=True)
    return EXIT_ERROR if failed else 0
